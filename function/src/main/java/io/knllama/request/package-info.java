/**
 * Reading request bodies strictly: typed access to JSON fields, with every failure naming the field by its
 * path. Each API's own parser (OpenAI, Ollama) decides what is allowed; this only reads.
 */
package io.knllama.request;
