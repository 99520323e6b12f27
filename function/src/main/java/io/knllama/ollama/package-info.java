/**
 * The Ollama-compatible API under {@code /api}: wire records, a pure request parser and pure response
 * converters, one controller, and the {@code {"error": "..."}} error shape. Ollama clients and UIs
 * (ollama4j, LangChain's Ollama integrations, Open WebUI) work against the function unchanged. The engine
 * never sees a wire type. See function/OLLAMA.md for what is accepted, refused and ignored.
 */
package io.knllama.ollama;
