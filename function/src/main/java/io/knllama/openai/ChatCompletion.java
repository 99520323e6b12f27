package io.knllama.openai;

import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

import java.util.List;

/** A non-streamed chat completion ({@code object: "chat.completion"}). */
@Serdeable(naming = SnakeCaseStrategy.class)
public record ChatCompletion(String id, String object, long created, String model, String systemFingerprint,
                             List<Choice> choices, UsageBody usage) {

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Choice(int index, Message message, Object logprobs, String finishReason) {
    }

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Message(String role, String content, String refusal) {
    }
}
