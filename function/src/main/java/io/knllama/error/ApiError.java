package io.knllama.error;

import java.time.Duration;

/**
 * Everything a request can fail with, grouped by what the caller should do about it: fix the request
 * (4xx), retry later (503 with a delay), or report a bug (500). Each API renders these in its own
 * wire shape; the HTTP status, error type and code are decided here and nowhere else.
 */
public sealed interface ApiError {

    String message();

    /** The request is malformed or breaks a documented limit. {@code param} is a JSON path into the request body. */
    record InvalidRequest(String param, String message, String code) implements ApiError {
        public InvalidRequest(String param, String message) {
            this(param, message, "invalid_value");
        }
    }

    /** A valid request asking for something this server does not do (e.g. tools, logprobs, n &gt; 1). */
    record Unsupported(String param, String message) implements ApiError {
    }

    /** Prompt plus requested completion exceed one slot's context window. */
    record ContextLengthExceeded(String param, int promptTokens, int requestedTokens, int contextSize) implements ApiError {
        @Override
        public String message() {
            return ("This model's context window per request is %d tokens. The request needs %d tokens "
                    + "(%d in the prompt, %d for the completion). Shorten the prompt or lower max_tokens.")
                    .formatted(contextSize, promptTokens + requestedTokens, promptTokens, requestedTokens);
        }
    }

    record ModelNotFound(String model, String served) implements ApiError {
        @Override
        public String message() {
            return "The model '%s' does not exist. This server serves '%s'.".formatted(Echo.of(model), served);
        }
    }

    record Unauthorized(String message) implements ApiError {
    }

    record NotFound(String message) implements ApiError {
    }

    /** All slots busy and the wait queue full, or the wait too long: shed, try again after {@code retryAfter}. */
    record Overloaded(String message, Duration retryAfter) implements ApiError {
    }

    /** Not serving right now, for a {@link Reason} that passes. */
    record Unavailable(String message, Duration retryAfter, Reason reason) implements ApiError {

        public enum Reason {
            /** The model is still loading: this instance will serve soon. */
            LOADING("model_loading", Retry.HERE),
            /** The process is shutting down: another instance will serve. */
            SHUTTING_DOWN("shutting_down", Retry.ELSEWHERE);

            private final String code;
            private final Retry retry;

            Reason(String code, Retry retry) {
                this.code = code;
                this.retry = retry;
            }
        }
    }

    /** Whether the same request can succeed later, and where. */
    enum Retry {
        /** Not as it is: the request itself is at fault, or the server failed in a way a retry does not mend. */
        NEVER,
        /** Here, after {@link #retryAfter()}: the instance is busy or starting. */
        HERE,
        /** On another instance: this one is going away. */
        ELSEWHERE
    }

    /** Refused at the HTTP level before any API saw the request: unknown method, media type, size. */
    record HttpRejection(int status, String code, String message) implements ApiError {
    }

    /** The work did not finish within its time limit. */
    record TimedOut(String message) implements ApiError {
    }

    /**
     * The engine failed in a way the request did not cause. {@code detail} is for the log only: it can name Java
     * classes and native errors, so clients get one stable message instead.
     */
    record EngineFailure(String detail) implements ApiError {
        @Override
        public String message() {
            return "The server failed to process this request; the server's log has the details.";
        }
    }

    default int status() {
        return switch (this) {
            case InvalidRequest e -> 400;
            case Unsupported e -> 400;
            case ContextLengthExceeded e -> 400;
            case Unauthorized e -> 401;
            case ModelNotFound e -> 404;
            case NotFound e -> 404;
            case Overloaded e -> 503;
            case Unavailable e -> 503;
            case HttpRejection e -> e.status();
            case TimedOut e -> 504;
            case EngineFailure e -> 500;
        };
    }

    /** OpenAI's error {@code type}. */
    default String type() {
        return switch (this) {
            case InvalidRequest e -> "invalid_request_error";
            case Unsupported e -> "invalid_request_error";
            case ContextLengthExceeded e -> "invalid_request_error";
            case ModelNotFound e -> "invalid_request_error";
            case NotFound e -> "invalid_request_error";
            case Unauthorized e -> "authentication_error";
            case Overloaded e -> "server_error";
            case Unavailable e -> "server_error";
            case HttpRejection e -> e.status() < 500 ? "invalid_request_error" : "server_error";
            case TimedOut e -> "server_error";
            case EngineFailure e -> "server_error";
        };
    }

    /** A stable, machine-readable code. */
    default String code() {
        return switch (this) {
            case InvalidRequest e -> e.code();
            case Unsupported e -> "unsupported_parameter";
            case ContextLengthExceeded e -> "context_length_exceeded";
            case ModelNotFound e -> "model_not_found";
            case NotFound e -> "not_found";
            case Unauthorized e -> "invalid_api_key";
            case Overloaded e -> "overloaded";
            case Unavailable e -> e.reason().code;
            case HttpRejection e -> e.code();
            case TimedOut e -> "timeout";
            case EngineFailure e -> "engine_error";
        };
    }

    /** The request parameter at fault, if any. */
    default String param() {
        return switch (this) {
            case InvalidRequest e -> e.param();
            case Unsupported e -> e.param();
            case ContextLengthExceeded e -> e.param();
            case ModelNotFound e -> "model";
            default -> null;
        };
    }

    /** Whether and where a retry can succeed: HTTP and events decide the same way from it. */
    default Retry retry() {
        return switch (this) {
            case Overloaded e -> Retry.HERE;
            case Unavailable e -> e.reason().retry;
            default -> Retry.NEVER;
        };
    }

    /** How long a client should wait before retrying, for errors worth retrying. */
    default Duration retryAfter() {
        return switch (this) {
            case Overloaded e -> e.retryAfter();
            case Unavailable e -> e.retryAfter();
            default -> null;
        };
    }
}
