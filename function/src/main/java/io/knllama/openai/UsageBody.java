package io.knllama.openai;

import io.knllama.inference.GenerationEvent.Usage;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

/** OpenAI's usage object; {@code prompt_tokens_details.cached_tokens} counts the prompt tokens a slot reused. */
@Serdeable(naming = SnakeCaseStrategy.class)
public record UsageBody(int promptTokens, int completionTokens, int totalTokens, PromptTokensDetails promptTokensDetails) {

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record PromptTokensDetails(int cachedTokens) {
    }

    static UsageBody of(Usage usage) {
        return new UsageBody(usage.promptTokens(), usage.completionTokens(), usage.totalTokens(),
                new PromptTokensDetails(usage.cachedTokens()));
    }
}
