package io.knllama.modelcache.failure;

/**
 * Why the model could not be made ready, typed by what the operator has to do about it. The message
 * is one paragraph that names the cause and the fix; it is what {@code kubectl logs -c model-cache}
 * and the pod's termination message show.
 */
public abstract sealed class ModelCacheException extends Exception
        permits ConfigurationException, SourceException, IntegrityException, UnavailableException, StorageException {

    ModelCacheException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * The process's exit status. Each kind has its own, so a pod's {@code exitCode} alone says whether
     * to fix the configuration, the source or credentials, the model, the network, or the volume.
     */
    public final int exitCode() {
        return switch (this) {
            case ConfigurationException e -> 2;
            case SourceException e -> 3;
            case IntegrityException e -> 4;
            case UnavailableException e -> 5;
            case StorageException e -> 6;
        };
    }
}
