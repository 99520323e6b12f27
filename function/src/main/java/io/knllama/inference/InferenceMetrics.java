package io.knllama.inference;

import io.knllama.inference.GenerationEvent.Finished;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import jakarta.inject.Singleton;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The engine's meters, named for Prometheus as {@code knllama_*}: requests by outcome, tokens, time to
 * first token, inter-token latency, end-to-end latency. Gauges for slots and queue are registered by the
 * engine, which owns those numbers.
 */
@Singleton
final class InferenceMetrics {

    enum Outcome { STOP, LENGTH, EMBEDDED, CANCELLED, INVALID, OVERLOADED, UNAVAILABLE, ERROR }

    private final MeterRegistry registry;
    private final Map<Outcome, Counter> outcomes = new ConcurrentHashMap<>();
    private final Counter promptTokens;
    private final Counter cachedPromptTokens;
    private final Counter generatedTokens;
    private final Timer timeToFirstToken;
    private final Timer interTokenLatency;
    private final Timer requestDuration;
    private final Timer queueWait;

    InferenceMetrics(MeterRegistry registry) {
        this.registry = registry;
        promptTokens = Counter.builder("knllama.prompt.tokens").description("Prompt tokens, processed or served from the KV cache")
                .register(registry);
        cachedPromptTokens = Counter.builder("knllama.prompt.cached.tokens")
                .description("Prompt tokens served from a slot's KV cache instead of being processed").register(registry);
        generatedTokens = Counter.builder("knllama.generated.tokens").description("Tokens generated").register(registry);
        timeToFirstToken = latency("knllama.time.to.first.token", "From request arrival to the first generated token",
                Duration.ofMillis(1), Duration.ofSeconds(120));
        interTokenLatency = latency("knllama.inter.token.latency", "Between consecutive streamed chunks of one generation",
                Duration.ofNanos(100_000), Duration.ofSeconds(10));
        requestDuration = latency("knllama.request.duration", "From request arrival to the last token",
                Duration.ofMillis(1), Duration.ofSeconds(600));
        queueWait = latency("knllama.queue.wait", "Time spent waiting for a slot",
                Duration.ofNanos(100_000), Duration.ofSeconds(120));
    }

    private Timer latency(String name, String description, Duration min, Duration max) {
        return Timer.builder(name).description(description)
                .publishPercentileHistogram().minimumExpectedValue(min).maximumExpectedValue(max)
                .register(registry);
    }

    MeterRegistry registry() {
        return registry;
    }

    void outcome(Outcome outcome) {
        outcomes.computeIfAbsent(outcome, o -> Counter.builder("knllama.requests")
                .description("Generation and embedding requests by outcome").tag("outcome", o.name().toLowerCase())
                .register(registry)).increment();
    }

    void queued(long nanos) {
        queueWait.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    void firstToken(long nanosSinceArrival) {
        timeToFirstToken.record(nanosSinceArrival, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    void interToken(long nanos) {
        interTokenLatency.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    void finished(Finished finished) {
        outcome(finished.reason() == GenerationEvent.FinishReason.STOP ? Outcome.STOP : Outcome.LENGTH);
        promptTokens.increment(finished.usage().promptTokens());
        cachedPromptTokens.increment(finished.usage().cachedTokens());
        generatedTokens.increment(finished.usage().completionTokens());
        requestDuration.record(finished.timings().total());
    }

    void embedded(int tokens) {
        outcome(Outcome.EMBEDDED);
        promptTokens.increment(tokens);
    }
}
