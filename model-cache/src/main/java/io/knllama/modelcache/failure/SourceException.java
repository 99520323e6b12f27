package io.knllama.modelcache.failure;

/** The source refused or does not have the model (401, 403, 404, a missing file): retrying will not help until the source, revision or token is fixed. */
public final class SourceException extends ModelCacheException {

    public SourceException(String message) {
        super(message, null);
    }

    public SourceException(String message, Throwable cause) {
        super(message, cause);
    }
}
