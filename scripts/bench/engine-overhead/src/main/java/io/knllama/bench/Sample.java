package io.knllama.bench;

/**
 * One generation as one side saw it. Times in milliseconds: {@code ttftMs} from the start (generate() on the
 * binding, the request sent to the function) to the first piece of text, {@code decodeMs} from the first to
 * the last piece, {@code itlMs} the gaps between pieces. Tokens: the binding's outputs, or the function's
 * {@code usage.completion_tokens}, which it counts the same way (one output per token, except where llama.cpp
 * holds text back until it is valid UTF-8: both sides then merge alike).
 */
record Sample(String side, int tokens, double ttftMs, double decodeMs, double e2eMs, double[] itlMs) {
}
