package io.knllama.modelcache.failure;

/** A setting is missing or malformed; the message names the variable or flag. */
public final class ConfigurationException extends ModelCacheException {

    public ConfigurationException(String message) {
        super(message, null);
    }

    public ConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
