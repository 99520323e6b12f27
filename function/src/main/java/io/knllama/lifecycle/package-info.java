/** The process's own lifecycle around the engine: how SIGTERM drains it. */
package io.knllama.lifecycle;
