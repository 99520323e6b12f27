package io.knllama.health;

import io.knllama.inference.Engine;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.micronaut.management.health.indicator.annotation.Readiness;
import jakarta.inject.Singleton;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

import java.util.Map;

/** Ready while the model is loaded and the engine takes requests: DOWN while loading and while draining. */
@Singleton
@Readiness
final class ModelReadinessIndicator implements HealthIndicator {

    private final Engine engine;

    ModelReadinessIndicator(Engine engine) {
        this.engine = engine;
    }

    @Override
    public Publisher<HealthResult> getResult() {
        var info = engine.info();
        Map<String, Object> details = new java.util.LinkedHashMap<>(Map.of(
                "id", info.id(), "slots", info.slots(), "loadMillis", info.loadTime().toMillis()));
        engine.loadFailure().ifPresent(reason -> details.put("error", reason));
        return Mono.just(HealthResult.builder("model", engine.ready() ? HealthStatus.UP : HealthStatus.DOWN)
                .details(details).build());
    }
}
