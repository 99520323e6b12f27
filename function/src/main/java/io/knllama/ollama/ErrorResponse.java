package io.knllama.ollama;

import io.micronaut.serde.annotation.Serdeable;

/** Ollama's error shape, {@code {"error": "..."}}: as a whole response body, or as a stream's last line. */
@Serdeable
public record ErrorResponse(String error) {
}
