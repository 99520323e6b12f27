package io.knllama.openai;

import io.knllama.inference.GenerationEvent.Usage;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

@Serdeable(naming = SnakeCaseStrategy.class)
public record UsageBody(int promptTokens, int completionTokens, int totalTokens) {

    static UsageBody of(Usage usage) {
        return new UsageBody(usage.promptTokens(), usage.completionTokens(), usage.totalTokens());
    }
}
