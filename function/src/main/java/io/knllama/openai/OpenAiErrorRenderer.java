package io.knllama.openai;

import io.knllama.error.ApiError;
import io.knllama.error.ErrorRenderer;
import jakarta.inject.Singleton;

/** OpenAI's error shape, for the OpenAI API and, as the fallback, for every path no other API claims. */
@Singleton
final class OpenAiErrorRenderer implements ErrorRenderer {

    @Override
    public String pathPrefix() {
        return "/";
    }

    @Override
    public Object body(ApiError error) {
        return ErrorBody.of(error);
    }
}
