package io.knllama.modelcache.failure;

/** The model's bytes are not what they must be: a digest that does not match, or a file that is not a well-formed GGUF model. */
public final class IntegrityException extends ModelCacheException {

    public IntegrityException(String message) {
        super(message, null);
    }

    public IntegrityException(String message, Throwable cause) {
        super(message, cause);
    }
}
