package io.knllama.error;

/**
 * Renders an {@link ApiError} in one API's wire shape. Each API contributes one; the request's path
 * picks it (the longest matching {@link #pathPrefix()}).
 */
public interface ErrorRenderer {

    /** Requests under this path speak this renderer's API; {@code "/"} is the fallback. */
    String pathPrefix();

    /** The error's body in this API's shape, sent as JSON; status and Retry-After come from the error. */
    Object body(ApiError error);
}
