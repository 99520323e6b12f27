package io.knllama.events;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import io.micronaut.core.convert.format.ReadableBytes;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;

import java.net.URI;
import java.time.Duration;

/**
 * CloudEvents handling ({@code KNLLAMA_EVENTS_*}).
 *
 * @param maxBatchItems   largest batch accepted; a larger one is refused up front with 400
 * @param batchTimeout    longest a batch may run; items not done by then are reported as failed
 *                        ({@code batch_timeout}). Keep it below the Trigger's delivery timeout and the
 *                        Service's timeoutSeconds, or the broker retries a batch that is still running
 * @param maxEventSize    largest event accepted, in bytes ({@code 2MB}); a larger one is refused with 413, which
 *                        Knative does not retry
 * @param dedupMaxSize    bytes of recent deliveries' replies remembered to answer a redelivery ({@code 32MB})
 * @param dedupTtl        how long they are remembered
 * @param source          the {@code source} of reply events
 * @param sink            where each batch item's result is also sent as its own event ({@code K_SINK},
 *                        set by a SinkBinding); unset sends nothing
 */
@ConfigurationProperties(EventsProperties.PREFIX)
public record EventsProperties(
        @Bindable(defaultValue = "64") @Min(1) @Max(10_000) int maxBatchItems,
        @Bindable(defaultValue = "240s") @NotNull Duration batchTimeout,
        @Bindable(defaultValue = "2MB") @ReadableBytes @Min(1024) long maxEventSize,
        @Bindable(defaultValue = "32MB") @ReadableBytes @Min(0) long dedupMaxSize,
        @Bindable(defaultValue = "15m") @NotNull Duration dedupTtl,
        @Bindable(defaultValue = "/knllama") @NotNull URI source,
        @Nullable URI sink) {

    public static final String PREFIX = "knllama.events";
}
