package io.knllama.inference;

import io.knllama.config.EnvironmentSettings;
import io.knllama.model.ModelProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The model's load begun from {@code main}, before the application context: Micronaut takes ~0.4 s to create its
 * first bean, and a load that waits for it puts that on every scale from zero (scripts/bench-cold-start.sh). The
 * settings are the records the context would bind, read from the environment ({@link EnvironmentSettings}); the
 * engine adopts the load only when the context binds the very same records, and otherwise frees it and loads again
 * with the context's. A load no engine adopts never ends the process, whatever its outcome.
 */
public final class EarlyLoad {

    private static final Logger LOG = LoggerFactory.getLogger(EarlyLoad.class);
    private static final CompletableFuture<Optional<ModelHost>> NONE = CompletableFuture.completedFuture(Optional.empty());
    /** The host begun early, once {@link #begin} has read the settings; taken once, by {@link #hostFor}. */
    private static final AtomicReference<CompletableFuture<Optional<ModelHost>>> BEGUN = new AtomicReference<>(NONE);

    private EarlyLoad() {
    }

    /**
     * Begins loading the model the environment names, if its settings can be read without the context. Returns at
     * once: reading them loads classes and the logging configuration, which would hold up {@code main}.
     */
    public static void begin(Map<String, String> environment) {
        CompletableFuture<Optional<ModelHost>> begun = new CompletableFuture<>();
        BEGUN.set(begun);
        Thread.ofPlatform().name("llama-settings").daemon().start(() -> {
            try {
                Optional<ModelHost> host = hostFrom(environment);
                host.ifPresent(ModelHost::startLoading);
                begun.complete(host);
            } catch (Throwable e) {
                begun.complete(Optional.empty()); // the context reads the settings and reports what is wrong
            }
        });
    }

    private static Optional<ModelHost> hostFrom(Map<String, String> environment) {
        Optional<ModelProperties> model = EnvironmentSettings.bind(ModelProperties.class, ModelProperties.PREFIX, environment);
        Optional<EngineProperties> engine = EnvironmentSettings.bind(EngineProperties.class, EngineProperties.PREFIX, environment);
        if (model.isEmpty() || engine.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new ModelHost(model.get(), engine.get(), engine.get().effectiveSlots()));
        } catch (IllegalArgumentException e) {
            return Optional.empty(); // a setting the context refuses, with this message
        }
    }

    /** What {@link #begin} began, until {@link #hostFor} takes it. */
    static CompletableFuture<Optional<ModelHost>> begun() {
        return BEGUN.get();
    }

    /** The host for these settings, loading: the one begun early when it loads exactly these, else a new one. */
    static ModelHost hostFor(ModelProperties model, EngineProperties engine) {
        Optional<ModelHost> early = BEGUN.getAndSet(NONE).join();
        if (early.isPresent() && early.get().loadsWith(model, engine)) {
            return early.get();
        }
        ModelHost host = new ModelHost(model, engine, engine.effectiveSlots());
        if (early.isEmpty()) {
            host.startLoading();
        } else {
            LOG.info("The model settings differ from the environment variables' (a system property or a configuration "
                    + "file sets one): the model begun early is freed and loaded with the application's settings");
            // One model in memory at a time: the second load starts once the first has ended and been freed.
            early.get().discard().thenRun(host::startLoading);
        }
        return host;
    }
}
