package io.knllama.openai;

import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

import java.util.List;

@Serdeable(naming = SnakeCaseStrategy.class)
public record ModelList(String object, List<ModelObject> data) {

    /**
     * One model, as OpenAI lists it, plus {@code meta}: what llama.cpp-based servers add so a client can
     * learn the context size without guessing.
     */
    @Serdeable(naming = SnakeCaseStrategy.class)
    public record ModelObject(String id, String object, long created, String ownedBy, Meta meta) {
    }

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Meta(String file, String architecture, String name, long sizeBytes, int contextLength, int slots,
                       String chatTemplate, boolean embeddings) {
    }
}
