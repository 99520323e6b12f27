package io.knllama.inference;

import java.time.Duration;

/**
 * What a running generation emits, in order: any number of {@link Token}s, then exactly one
 * {@link Finished}, after which the stream completes; or an error, which ends a partial answer.
 */
public sealed interface GenerationEvent {

    /** Generated text: one or more tokens, always complete UTF-8 characters. */
    record Token(String text) implements GenerationEvent {
    }

    record Finished(FinishReason reason, Usage usage, Timings timings) implements GenerationEvent {
    }

    enum FinishReason {
        /** The model ended its answer, or a stop sequence matched. */
        STOP,
        /** The token limit (or the request's time limit) was reached. */
        LENGTH;

        /** As OpenAI's {@code finish_reason} and Ollama's {@code done_reason} both spell it. */
        public String wireName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * Token counts. Prompt tokens are exact. Completion tokens are exact except where the model spelled a
     * character with several byte tokens; those are counted as the character's own tokenization.
     *
     * @param cachedTokens prompt tokens served from the slot's KV cache rather than processed (part of promptTokens)
     */
    record Usage(int promptTokens, int completionTokens, int cachedTokens) {
        public int totalTokens() {
            return promptTokens + completionTokens;
        }
    }

    /**
     * Where the time went.
     *
     * @param queued       waiting for a slot
     * @param promptEval   from the slot grant to the first token (prompt processing)
     * @param generation   from the first token to the last
     * @param total        from the request's arrival to the end
     */
    record Timings(Duration queued, Duration promptEval, Duration generation, Duration total) {
    }
}
