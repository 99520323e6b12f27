package io.knllama.ollama;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

/**
 * One object of {@code /api/generate}, shaped like {@link ChatResponse} with the text in {@code response}.
 * Ollama's {@code context} (the conversation as token ids) is never sent: it cannot be sent back here.
 */
@Serdeable(naming = SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GenerateResponse(
        String model,
        String createdAt,
        String response,
        boolean done,
        @Nullable String doneReason,
        @Nullable Long totalDuration,
        @Nullable Long loadDuration,
        @Nullable Integer promptEvalCount,
        @Nullable Long promptEvalDuration,
        @Nullable Integer evalCount,
        @Nullable Long evalDuration) {
}
