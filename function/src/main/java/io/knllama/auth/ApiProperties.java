package io.knllama.auth;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;

import java.time.Duration;

/**
 * Access to the APIs.
 *
 * @param key    when set ({@code KNLLAMA_API_KEY}), every API request must carry {@code Authorization: Bearer <key>};
 *               health and metrics stay open for the platform's probes and scrapers
 * @param routes which routes this instance serves ({@code KNLLAMA_API_ROUTES}): {@code all}, or {@code events} for
 *               an instance that only takes events (the cluster-local Service Knative Eventing's Triggers deliver
 *               to, which cannot present a key): there every other route answers 404
 * @param watchedSecret the Secret in the pod's own namespace that {@code KNLLAMA_API_KEY} comes from
 *               ({@code KNLLAMA_API_WATCHED_SECRET}): when set, the function watches it through the Kubernetes API once the
 *               model is loaded and takes a changed {@code KNLLAMA_API_KEY} in it without a new revision
 * @param watchDelay how long after the model is loaded the watch starts ({@code KNLLAMA_API_WATCH_DELAY},
 *               default 10 s): starting the Kubernetes client costs a few hundred milliseconds of CPU, which must not
 *               land on the request that woke the pod; until then the key read at start is in force
 */
@ConfigurationProperties(ApiProperties.PREFIX)
public record ApiProperties(@Nullable @Size(min = MINIMUM_KEY_LENGTH, message = "must be at least 16 characters") String key,
                            @Bindable(defaultValue = "all") @NotNull Routes routes,
                            @Nullable String watchedSecret,
                            @Bindable(defaultValue = "10s") @NotNull Duration watchDelay) {
    public static final String PREFIX = "knllama.api";
    /** A shorter key is refused, at start and when a rotated one arrives. */
    public static final int MINIMUM_KEY_LENGTH = 16;

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
        return "ApiProperties[key=" + (key == null ? "unset" : "(set, redacted)") + ", routes=" + routes + ", watchedSecret=" + watchedSecret + "]";
    }
}
