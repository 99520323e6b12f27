package io.knllama.openai;

import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

import java.util.List;

/** A legacy text completion ({@code object: "text_completion"}); streamed chunks have the same shape. */
@Serdeable(naming = SnakeCaseStrategy.class)
public record TextCompletion(String id, String object, long created, String model, String systemFingerprint,
                             List<Choice> choices, UsageBody usage) {

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Choice(String text, int index, Object logprobs, String finishReason) {
    }
}
