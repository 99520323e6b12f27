package io.knllama.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

import java.util.List;

/** One server-sent event of a streamed chat completion ({@code object: "chat.completion.chunk"}). */
@Serdeable(naming = SnakeCaseStrategy.class)
public record ChatCompletionChunk(String id, String object, long created, String model, String systemFingerprint,
                                  List<Choice> choices, UsageBody usage) {

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Choice(int index, Delta delta, Object logprobs, String finishReason) {
    }

    /** The new part of the message; role only in the first chunk, nothing in the last. */
    @Serdeable(naming = SnakeCaseStrategy.class)
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Delta(String role, String content) {
    }
}
