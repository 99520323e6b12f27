package io.knllama.openai;

import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

import java.util.List;

@Serdeable(naming = SnakeCaseStrategy.class)
public record EmbeddingList(String object, List<Item> data, String model, Usage usage) {

    /** {@code embedding} is a float array, or a base64 string of little-endian float32s when asked for. */
    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Item(String object, int index, Object embedding) {
    }

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Usage(int promptTokens, int totalTokens) {
    }
}
