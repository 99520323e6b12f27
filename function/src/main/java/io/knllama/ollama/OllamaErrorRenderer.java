package io.knllama.ollama;

import io.knllama.error.ApiError;
import io.knllama.error.ErrorRenderer;
import jakarta.inject.Singleton;

/** Every error under {@code /api/}, the Ollama API's prefix, in Ollama's shape: {@code {"error": "..."}}. */
@Singleton
final class OllamaErrorRenderer implements ErrorRenderer {

    @Override
    public String pathPrefix() {
        return "/api/";
    }

    @Override
    public Object body(ApiError error) {
        return new ErrorResponse(error.message());
    }
}
