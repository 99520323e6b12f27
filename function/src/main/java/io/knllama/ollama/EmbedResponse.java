package io.knllama.ollama;

import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

import java.util.List;

/** {@code /api/embed}: exactly Ollama's fields (some clients refuse unknown ones). Vectors are L2-normalized. */
@Serdeable(naming = SnakeCaseStrategy.class)
public record EmbedResponse(String model, List<float[]> embeddings, long totalDuration, long loadDuration,
                            int promptEvalCount) {
}
