package io.knllama.auth;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;

import java.nio.charset.StandardCharsets;

/**
 * Requires the configured API key on the API routes (OpenAI's {@code Authorization: Bearer} scheme): the
 * OpenAI and Ollama APIs and every route that takes events, {@code POST /} included. The chat page at
 * {@code GET /} stays open; it asks for the key itself.
 */
@ServerFilter(patterns = {"/v1/**", "/api/**", "/events/**", "/"})
@Requires(property = ApiProperties.PREFIX + ".key")
final class ApiKeyFilter {

    private final ApiKeys keys;

    ApiKeyFilter(ApiKeys keys) {
        this.keys = keys;
    }

    @RequestFilter
    void authenticate(HttpRequest<?> request) {
        if (request.getMethod() != HttpMethod.POST && request.getPath().equals("/")) {
            return;
        }
        String header = request.getHeaders().getAuthorization().orElse(null);
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            throw new ApiException(new ApiError.Unauthorized(
                    "You didn't provide an API key. Send it in an Authorization header: 'Authorization: Bearer YOUR_KEY'."));
        }
        byte[] presented = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        if (!keys.matches(presented)) {
            throw new ApiException(new ApiError.Unauthorized("Incorrect API key provided."));
        }
    }
}
