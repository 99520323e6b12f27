package io.knllama.modelcache.failure;

/** The shared volume cannot take the model: not mounted or not writable, too little free space, or an I/O error. */
public final class StorageException extends ModelCacheException {

    public StorageException(String message) {
        super(message, null);
    }

    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
