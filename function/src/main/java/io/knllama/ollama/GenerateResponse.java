package io.knllama.ollama;

import com.fasterxml.jackson.annotation.JsonInclude;
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
        String doneReason,
        Long totalDuration,
        Long loadDuration,
        Integer promptEvalCount,
        Long promptEvalDuration,
        Integer evalCount,
        Long evalDuration) {
}
