package io.knllama.modelcache.failure;

/** The source could not be reached or kept failing (timeouts, 5xx, 429) through every retry; a later attempt may succeed. */
public final class UnavailableException extends ModelCacheException {

    public UnavailableException(String message) {
        super(message, null);
    }

    public UnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
