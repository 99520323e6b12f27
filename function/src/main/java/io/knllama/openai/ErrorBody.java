package io.knllama.openai;

import io.knllama.error.ApiError;
import io.micronaut.serde.annotation.Serdeable;

/** OpenAI's error envelope: {@code {"error": {"message", "type", "param", "code"}}}. */
@Serdeable
public record ErrorBody(Detail error) {

    @Serdeable
    public record Detail(String message, String type, String param, String code) {
    }

    public static ErrorBody of(ApiError error) {
        return new ErrorBody(new Detail(error.message(), error.type(), error.param(), error.code()));
    }
}
