package io.knllama.gguf.record;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The secret that makes a {@link CheckRecord} unforgeable by whoever can merely write the volume:
 * {@code KNLLAMA_MODEL_RECORD_KEY}, given to model-cache and the function (from one Kubernetes Secret) and
 * kept off the volume. Records carry an HMAC-SHA256 of their content under it.
 */
public final class RecordKey {

    /** Characters; {@code openssl rand -hex 32} gives 64. */
    public static final int MIN_LENGTH = 32;

    private final SecretKeySpec key;

    private RecordKey(byte[] secret) {
        this.key = new SecretKeySpec(secret, "HmacSHA256");
    }

    /**
     * @throws IllegalArgumentException if it is shorter than {@link #MIN_LENGTH} characters; the message never
     *                                  repeats the value
     */
    public static RecordKey of(String secret) {
        String value = secret == null ? "" : secret.strip();
        if (value.length() < MIN_LENGTH) {
            throw new IllegalArgumentException("it must be at least %d characters long (e.g. `openssl rand -hex 32`)"
                    .formatted(MIN_LENGTH));
        }
        return new RecordKey(value.getBytes(StandardCharsets.UTF_8));
    }

    /** HMAC-SHA256 of {@code text}, as hex. */
    String mac(String text) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return HexFormat.of().formatHex(mac.doFinal(text.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every Java runtime has HmacSHA256", e);
        }
    }

    /** Whether {@code mac} is the MAC of {@code text}, compared in constant time. */
    boolean verifies(String text, String mac) {
        return MessageDigest.isEqual(mac(text).getBytes(StandardCharsets.US_ASCII), mac.getBytes(StandardCharsets.US_ASCII));
    }

    @Override
    public String toString() {
        return "RecordKey[redacted]";
    }
}
