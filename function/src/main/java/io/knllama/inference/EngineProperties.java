package io.knllama.inference;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;

import java.time.Duration;

/**
 * How the engine runs the model ({@code KNLLAMA_ENGINE_*} environment variables).
 *
 * @param slots          generations that run at once (llama.cpp's parallel slots, batched together);
 *                       defaults to the container's CPUs. Set Knative's containerConcurrency to the same number.
 * @param threads        CPU threads llama.cpp uses; defaults to the container's CPUs
 * @param queueCapacity  requests that may wait for a free slot; more are shed at once with 503.
 *                       Defaults to four per slot
 * @param maxQueueWait   longest a request waits for a slot before it is shed with 503
 * @param requestTimeout longest a generation may run; it then ends as if its token limit was reached
 * @param batchSize      prompt tokens processed per batch
 * @param nativeLog      pass llama.cpp's own log through (at DEBUG); it can contain prompt text, so off by default
 * @param exitOnLoadFailure end the process (status 1) when the model cannot be checked or loaded, so the
 *                       platform restarts it and shows the reason; off, the engine stays up and unavailable
 */
@ConfigurationProperties(EngineProperties.PREFIX)
public record EngineProperties(
        @Nullable @Min(1) @Max(256) Integer slots,
        @Nullable @Min(1) @Max(1024) Integer threads,
        @Nullable @Min(0) @Max(100_000) Integer queueCapacity,
        @Bindable(defaultValue = "30s") @NotNull Duration maxQueueWait,
        @Bindable(defaultValue = "300s") @NotNull Duration requestTimeout,
        @Bindable(defaultValue = "512") @Min(32) @Max(65_536) int batchSize,
        @Bindable(defaultValue = "false") boolean nativeLog,
        @Bindable(defaultValue = "true") boolean exitOnLoadFailure) {

    public static final String PREFIX = "knllama.engine";

    public int effectiveSlots() {
        return slots != null ? slots : Runtime.getRuntime().availableProcessors();
    }

    public int effectiveThreads() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    public int effectiveQueueCapacity() {
        return queueCapacity != null ? queueCapacity : 4 * effectiveSlots();
    }
}
