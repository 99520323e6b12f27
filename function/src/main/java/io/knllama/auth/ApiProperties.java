package io.knllama.auth;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import jakarta.validation.constraints.Size;

/**
 * Access to the APIs.
 *
 * @param key when set ({@code KNLLAMA_API_KEY}), every API request must carry {@code Authorization: Bearer <key>};
 *            health and metrics stay open for the platform's probes and scrapers
 */
@ConfigurationProperties(ApiProperties.PREFIX)
public record ApiProperties(@Nullable @Size(min = 16, message = "must be at least 16 characters") String key) {
    public static final String PREFIX = "knllama.api";

    /** Says whether a key is set, never the key: Micronaut logs configuration beans at DEBUG. */
    @Override
    public String toString() {
        return "ApiProperties[key=" + (key == null ? "unset" : "(set, redacted)") + "]";
    }
}
