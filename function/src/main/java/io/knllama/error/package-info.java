/** The one model of request failures, shared by every API the function speaks. */
package io.knllama.error;
