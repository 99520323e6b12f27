package io.knllama.inference;

import io.knllama.inference.GenerationEvent.FinishReason;
import io.knllama.inference.GenerationEvent.Timings;
import io.knllama.inference.GenerationEvent.Usage;

/** A whole generation's result, for APIs that answer at once rather than stream. */
public record Completion(String text, FinishReason finishReason, Usage usage, Timings timings) {
}
