package io.knllama.error;

import io.micronaut.http.MutableHttpResponse;

/**
 * Renders an {@link ApiError} in one API's wire shape. Each API contributes one; the request's path
 * picks it (the longest matching {@link #pathPrefix()}).
 */
public interface ErrorRenderer {

    /** Requests under this path speak this renderer's API; {@code "/"} is the fallback. */
    String pathPrefix();

    /** The complete response: status, headers (Retry-After where it applies) and body. */
    MutableHttpResponse<?> render(ApiError error);
}
