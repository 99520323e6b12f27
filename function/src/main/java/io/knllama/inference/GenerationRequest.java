package io.knllama.inference;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One generation, as every API describes it to the engine after translating its own wire format.
 *
 * @param prompt    text to complete, or a conversation to answer
 * @param sampling  sampling settings; unset values take llama.cpp's defaults
 * @param maxTokens most tokens to generate, or {@code null} for "until the slot's context is full"
 * @param format    constraint on the output's shape
 */
public record GenerationRequest(Prompt prompt, Sampling sampling, Integer maxTokens, ResponseFormat format) {

    public GenerationRequest {
        Objects.requireNonNull(prompt, "prompt");
        sampling = sampling == null ? Sampling.DEFAULTS : sampling;
        format = format == null ? new ResponseFormat.Text() : format;
    }

    /** What to complete. */
    public sealed interface Prompt {
        /** Raw text, passed to the model as is (after its BOS token, if it uses one). */
        record Text(String text) implements Prompt {
        }

        /** A conversation, rendered with the model's chat template. */
        record Chat(List<ChatMessage> messages) implements Prompt {
            public Chat {
                messages = List.copyOf(messages);
            }
        }
    }

    public record ChatMessage(Role role, String content) {
        public enum Role { SYSTEM, USER, ASSISTANT }
    }

    /**
     * Sampling settings. {@code null} means "llama.cpp's default" (temperature 0.8, top-p 0.95, top-k 40, min-p 0.05).
     *
     * @param seed      for reproducible sampling; results are reproducible for the same slot, since batched
     *                  computation on different slots can differ in the last bits
     * @param stop      strings that end generation; they are not included in the output
     * @param logitBias additive bias per token id
     */
    public record Sampling(
            Float temperature,
            Float topP,
            Integer topK,
            Float minP,
            Long seed,
            Float presencePenalty,
            Float frequencyPenalty,
            Float repeatPenalty,
            List<String> stop,
            Map<Integer, Float> logitBias) {

        public static final Sampling DEFAULTS = new Sampling(null, null, null, null, null, null, null, null, List.of(), Map.of());

        public Sampling {
            stop = stop == null ? List.of() : List.copyOf(stop);
            logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
        }
    }

    /** Shape the output must have. */
    public sealed interface ResponseFormat {
        record Text() implements ResponseFormat {
        }

        /**
         * JSON, constrained by a GBNF grammar that {@link io.knllama.grammar.JsonSchemaGrammar} wrote: the only
         * grammars that reach llama.cpp.
         */
        record Json(String grammar) implements ResponseFormat {
            public Json {
                Objects.requireNonNull(grammar, "grammar");
            }
        }
    }
}
