package io.knllama.ollama;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;

/**
 * Bodies on {@code /api} that are not declared JSON are taken from programs, never from browsers.
 *
 * <p>Ollama's clients send {@code application/json} (ollama-python, ollama-js, ollama4j), but Ollama's own
 * examples use {@code curl -d}, which sends {@code application/x-www-form-urlencoded}, and some clients send no
 * type at all: refusing everything but JSON, as {@code /v1} does, would break them. What must be refused is a
 * web page driving this API from a visitor's browser: a page may POST {@code text/plain}, a form type or
 * multipart (or a body with no type) to any origin without a CORS preflight, and without an API key set nothing
 * else stops it. Browsers put an {@code Origin} header on such requests and programs do not, so a request
 * with an {@code Origin} must declare JSON, which a browser sends cross-origin only after a preflight this
 * server does not approve.
 */
@ServerFilter("/api/**")
final class BrowserBodyFilter {

    @RequestFilter
    void requireJsonFromBrowsers(HttpRequest<?> request) {
        if (!request.getMethod().permitsRequestBody() || !request.getHeaders().contains(HttpHeaders.ORIGIN)) {
            return;
        }
        boolean json = request.getContentType().map(MediaType::getName)
                .filter(type -> type.equals(MediaType.APPLICATION_JSON) || type.endsWith("+json")).isPresent();
        if (!json) {
            throw new ApiException(new ApiError.HttpRejection(415, "unsupported_media_type",
                    "A request from a web page (one with an Origin header) must send its body as application/json."));
        }
    }
}
