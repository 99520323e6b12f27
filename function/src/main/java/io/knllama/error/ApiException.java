package io.knllama.error;

/** Carries an {@link ApiError} through code that can only throw. No stack trace: these are expected outcomes. */
public final class ApiException extends RuntimeException {

    private final transient ApiError error;

    public ApiException(ApiError error) {
        super(error.message(), null, false, false);
        this.error = error;
    }

    public ApiError error() {
        return error;
    }
}
