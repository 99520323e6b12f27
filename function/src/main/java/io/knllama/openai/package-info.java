/**
 * The OpenAI-compatible API: wire records, pure converters between them and the engine's requests
 * and events, and the controllers that route to them. The engine never sees a wire type.
 */
package io.knllama.openai;
