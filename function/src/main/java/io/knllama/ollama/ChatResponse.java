package io.knllama.ollama;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

/**
 * One object of {@code /api/chat}: a streamed piece of the answer ({@code done: false}), or the last or only
 * object ({@code done: true}) with the reason and the timings. Durations are nanoseconds, as in Ollama; fields
 * Ollama leaves out of a streamed piece are left out here too.
 */
@Serdeable(naming = SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatResponse(
        String model,
        String createdAt,
        Message message,
        boolean done,
        @Nullable String doneReason,
        @Nullable Long totalDuration,
        @Nullable Long loadDuration,
        @Nullable Integer promptEvalCount,
        @Nullable Long promptEvalDuration,
        @Nullable Integer evalCount,
        @Nullable Long evalDuration) {

    @Serdeable
    public record Message(String role, String content) {
    }
}
