package io.knllama.auth;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;

/**
 * Access to the APIs.
 *
 * @param key    when set ({@code KNLLAMA_API_KEY}), every API request must carry {@code Authorization: Bearer <key>};
 *               health and metrics stay open for the platform's probes and scrapers
 * @param routes which routes this instance serves ({@code KNLLAMA_API_ROUTES}): {@code all}, or {@code events} for
 *               an instance that only takes events (the cluster-local Service Knative Eventing's Triggers deliver
 *               to, which cannot present a key): there every other route answers 404
 */
@ConfigurationProperties(ApiProperties.PREFIX)
public record ApiProperties(@Nullable @Size(min = 16, message = "must be at least 16 characters") String key,
                            @Bindable(defaultValue = "all") @NotNull Routes routes) {
    public static final String PREFIX = "knllama.api";

    /** The routes an instance serves. */
    public enum Routes {
        /** The OpenAI and Ollama APIs, the chat page and events. */
        ALL,
        /** Events only ({@code POST /}, {@code /events/**}), besides health and metrics. */
        EVENTS
    }

    /** Says whether a key is set, never the key: Micronaut logs configuration beans at DEBUG. */
    @Override
    public String toString() {
        return "ApiProperties[key=" + (key == null ? "unset" : "(set, redacted)") + ", routes=" + routes + "]";
    }
}
