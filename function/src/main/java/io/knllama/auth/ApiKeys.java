package io.knllama.auth;

import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The API key in force. It starts as {@code KNLLAMA_API_KEY} (so the cold path reads nothing but the environment)
 * and can be replaced while the process serves, when the Secret it came from changes
 * ({@code io.knllama.kubernetes.ApiKeySecretWatch}). Whether a key is required at all is fixed at start: a changed
 * or deleted Secret can rotate the key, never switch the check off.
 */
@Singleton
@Requires(property = ApiProperties.PREFIX + ".key")
public final class ApiKeys {

    private static final Logger LOG = LoggerFactory.getLogger(ApiKeys.class);

    private final AtomicReference<byte[]> current;

    ApiKeys(ApiProperties properties) {
        // Stripped as a rotated key is, and as the filter strips the presented one: a Secret written from a file
        // often ends in a newline, which the environment variable keeps.
        this.current = new AtomicReference<>(properties.key().strip().getBytes(StandardCharsets.UTF_8));
    }

    /** Whether {@code presented} is the key in force, in constant time: the comparison must not reveal how much of a guess was right. */
    boolean matches(byte[] presented) {
        return MessageDigest.isEqual(presented, current.get());
    }

    /**
     * Makes {@code key} the key in force from the next request on, if it is acceptable.
     *
     * @param key    the new key
     * @param source where it came from, for the log (never the key itself)
     * @return why the key was refused (the key in force stays), or empty when it was taken or is the one in force
     */
    public Optional<String> replace(String key, String source) {
        String stripped = key == null ? null : key.strip();
        if (stripped == null || stripped.length() < ApiProperties.MINIMUM_KEY_LENGTH) {
            String reason = "the key in %s is %s; it must be at least %d characters, so the key in force stays"
                    .formatted(source, key == null ? "missing" : "too short", ApiProperties.MINIMUM_KEY_LENGTH);
            LOG.warn("API key not replaced: {}", reason);
            return Optional.of(reason);
        }
        byte[] next = stripped.getBytes(StandardCharsets.UTF_8);
        byte[] previous = current.getAndSet(next);
        if (!MessageDigest.isEqual(previous, next)) {
            LOG.info("API key replaced from {}: requests with the previous key are refused from now on", source);
        }
        return Optional.empty();
    }
}
