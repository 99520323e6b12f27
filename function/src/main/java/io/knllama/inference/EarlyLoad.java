package io.knllama.inference;

import io.knllama.config.EnvironmentSettings;
import io.knllama.model.ModelProperties;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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

    private static final CompletableFuture<Optional<ModelHost>> NONE = CompletableFuture.completedFuture(Optional.empty());
    /** The host begun early, once {@link #begin} has read the settings; taken once, by {@link #hostFor}. */
    private static final AtomicReference<CompletableFuture<Optional<ModelHost>>> BEGUN = new AtomicReference<>(NONE);

    private EarlyLoad() {
    }

    /**
     * Begins loading the model the environment names, if its settings can be read without the context and no system
     * property or command-line argument sets one of them. Returns at once: reading them loads classes and the
     * logging configuration, which would hold up {@code main}.
     */
    public static void begin(Map<String, String> environment, Set<String> systemProperties, List<String> arguments) {
        // Set another way, a setting would differ from the environment's, and the load begun here would be thrown away.
        if (systemProperties.stream().anyMatch(EarlyLoad::isModelSetting)
                || arguments.stream().anyMatch(a -> a.startsWith("--") && isModelSetting(a.substring(2)))) {
            return;
        }
        CompletableFuture<Optional<ModelHost>> begun = new CompletableFuture<>();
        BEGUN.getAndSet(begun).thenAccept(previous -> previous.ifPresent(ModelHost::discard));
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

    private static boolean isModelSetting(String property) {
        return property.startsWith(ModelProperties.PREFIX + ".") || property.startsWith(EngineProperties.PREFIX + ".");
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
            LoggerFactory.getLogger(EarlyLoad.class).info("The model settings differ from the environment variables' "
                    + "(a configuration file sets one): the model begun from them is freed, and loaded again with the application's");
            // One model in memory at a time: the second load starts once the first has ended and been freed.
            early.get().discard().whenComplete((freed, failure) -> host.startLoading());
        }
        return host;
    }
}
