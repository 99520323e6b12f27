package io.knllama.ollama;

import io.knllama.error.ApiError;
import io.knllama.error.ErrorRenderer;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import jakarta.inject.Singleton;

/** Every error under {@code /api/}, the Ollama API's prefix, in Ollama's shape: {@code {"error": "..."}}. */
@Singleton
final class OllamaErrorRenderer implements ErrorRenderer {

    @Override
    public String pathPrefix() {
        return "/api/";
    }

    @Override
    public MutableHttpResponse<?> render(ApiError error) {
        MutableHttpResponse<ErrorResponse> response = HttpResponse.<ErrorResponse>status(HttpStatus.valueOf(error.status()))
                .body(new ErrorResponse(error.message()))
                .contentType(MediaType.APPLICATION_JSON_TYPE);
        if (error.retryAfter() != null) {
            response.header("Retry-After", Long.toString(Math.max(1, (error.retryAfter().toMillis() + 999) / 1000)));
        }
        return response;
    }
}
