package io.knllama.openai;

import io.knllama.error.ApiError;
import io.knllama.error.ErrorRenderer;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import jakarta.inject.Singleton;

/** OpenAI's error shape, for the OpenAI API and, as the fallback, for every path no other API claims. */
@Singleton
final class OpenAiErrorRenderer implements ErrorRenderer {

    @Override
    public String pathPrefix() {
        return "/";
    }

    @Override
    public MutableHttpResponse<?> render(ApiError error) {
        MutableHttpResponse<ErrorBody> response = HttpResponse.<ErrorBody>status(HttpStatus.valueOf(error.status()))
                .body(ErrorBody.of(error))
                .contentType(MediaType.APPLICATION_JSON_TYPE);
        if (error.retryAfter() != null) {
            response.header("Retry-After", Long.toString(Math.max(1, (error.retryAfter().toMillis() + 999) / 1000)));
        }
        return response;
    }
}
