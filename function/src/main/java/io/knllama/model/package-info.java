/** The model file: where it is, whether it is sound, what it is. */
package io.knllama.model;
