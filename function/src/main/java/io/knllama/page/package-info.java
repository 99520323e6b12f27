/** The chat page served at {@code /}: plain HTML and JavaScript over the function's own OpenAI-compatible API. */
package io.knllama.page;
