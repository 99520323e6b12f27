package io.knllama.error;

import io.micronaut.context.annotation.Replaces;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.response.Error;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The one place errors become HTTP responses: {@link ApiException}s thrown anywhere in request
 * handling, and the framework's own refusals (unknown route, wrong method or media type, body too
 * large, unreadable JSON), which are first translated into {@link ApiError}s. The status comes from
 * the error; the shape from the API the request was addressed to.
 */
@Singleton
@Produces
@Replaces(ErrorResponseProcessor.class)
final class ApiErrorHandler implements ExceptionHandler<ApiException, HttpResponse<?>>, ErrorResponseProcessor<Object> {

    private static final Logger LOG = LoggerFactory.getLogger(ApiErrorHandler.class);

    private final List<ErrorRenderer> renderers;

    ApiErrorHandler(List<ErrorRenderer> renderers) {
        this.renderers = renderers.stream()
                .sorted(Comparator.comparingInt((ErrorRenderer r) -> r.pathPrefix().length()).reversed())
                .toList();
    }

    @Override
    public HttpResponse<?> handle(HttpRequest request, ApiException exception) {
        ApiError error = exception.error();
        if (error instanceof ApiError.EngineFailure failure) {
            // The client gets a stable message; what went wrong is for the operator.
            LOG.error("{} {} failed: {}", request.getMethodName(), request.getPath(), failure.detail());
        }
        return respond(request, error, HttpResponse.status(HttpStatus.valueOf(error.status())));
    }

    @Override
    public MutableHttpResponse<Object> processResponse(ErrorContext context, MutableHttpResponse<?> response) {
        return respond(context.getRequest(), fromFramework(context, response.status()), response);
    }

    @SuppressWarnings("unchecked")
    private MutableHttpResponse<Object> respond(HttpRequest<?> request, ApiError error, MutableHttpResponse<?> response) {
        MutableHttpResponse<Object> json = ((MutableHttpResponse<Object>) response).body(rendererFor(request).body(error))
                .contentType(MediaType.APPLICATION_JSON_TYPE);
        if (error.retryAfter() != null) {
            json.header("Retry-After", Long.toString(Math.max(1, (error.retryAfter().toMillis() + 999) / 1000)));
        }
        return json;
    }

    private ErrorRenderer rendererFor(HttpRequest<?> request) {
        String path = request.getPath();
        return renderers.stream().filter(r -> path.startsWith(r.pathPrefix())).findFirst()
                .orElseThrow(() -> new IllegalStateException("no error renderer for " + path));
    }

    private static ApiError fromFramework(ErrorContext context, HttpStatus status) {
        String detail = context.getErrors().stream().map(Error::getMessage).collect(Collectors.joining("; "));
        HttpRequest<?> request = context.getRequest();
        return switch (status) {
            case NOT_FOUND -> new ApiError.NotFound("Unknown request URL: %s %s.".formatted(request.getMethodName(), request.getPath()));
            case METHOD_NOT_ALLOWED -> new ApiError.HttpRejection(405, "method_not_allowed",
                    "Method %s is not allowed for %s.".formatted(request.getMethodName(), request.getPath()));
            case UNSUPPORTED_MEDIA_TYPE -> new ApiError.HttpRejection(415, "unsupported_media_type",
                    "Send the request body as application/json.");
            case REQUEST_ENTITY_TOO_LARGE -> new ApiError.HttpRejection(413, "request_too_large",
                    "The request body is larger than this server accepts.");
            case BAD_REQUEST -> new ApiError.InvalidRequest(null,
                    detail.isBlank() ? "The request could not be read." : "The request could not be read: " + Echo.of(detail), "invalid_request");
            default -> status.getCode() >= 500
                    ? new ApiError.HttpRejection(status.getCode(), "internal_error", "The server failed to handle the request.")
                    : new ApiError.HttpRejection(status.getCode(), "http_" + status.getCode(),
                            detail.isBlank() ? status.getReason() : detail);
        };
    }
}
