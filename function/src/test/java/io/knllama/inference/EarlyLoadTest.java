package io.knllama.inference;

import io.knllama.gguf.TinyModel;
import io.micronaut.context.ApplicationContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The load {@code main} begins from the environment is the one the engine serves when the context binds the same
 * settings; with other settings it is freed and the model loaded with the context's; and a load nobody adopts
 * never ends the process, not even when it fails.
 */
class EarlyLoadTest {

    @TempDir
    Path dir;

    /** A load begun from the environment of a one-slot, 256-token model at {@code model}. */
    private static ModelHost begunFor(Path model) {
        return begun(Map.of("KNLLAMA_MODEL_PATH", model.toString(), "KNLLAMA_MODEL_CONTEXT_SIZE", "256",
                "KNLLAMA_ENGINE_SLOTS", "1"));
    }

    /** A context with one slot of {@code contextSize} tokens on {@code model}. */
    private static ApplicationContext contextFor(Path model, int contextSize) {
        return ApplicationContext.run(Map.of("knllama.model.path", model.toString(),
                "knllama.model.context-size", contextSize, "knllama.engine.slots", 1));
    }

    private static ModelHost begun(Map<String, String> environment) {
        EarlyLoad.begin(environment, Set.of(), List.of());
        return EarlyLoad.begun().join().orElseThrow(() -> new AssertionError("nothing begun from " + environment));
    }

    private static LlamaEngine readyEngine(ApplicationContext context) throws InterruptedException {
        LlamaEngine engine = context.getBean(LlamaEngine.class);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!engine.ready() && engine.loadFailure().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(engine.loadFailure()).isEmpty();
        assertThat(engine.ready()).isTrue();
        return engine;
    }

    @Test
    void the_engine_serves_the_load_begun_with_its_settings() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny.gguf"));
        ModelHost early = begunFor(model);

        try (ApplicationContext context = contextFor(model, 256)) {
            LlamaEngine engine = readyEngine(context);

            assertThat(engine.host()).isSameAs(early);
        }
    }

    @Test
    void a_load_begun_with_other_settings_is_freed_and_the_contexts_loaded() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny.gguf"));
        ModelHost early = begunFor(model);

        try (ApplicationContext context = contextFor(model, 512)) {
            LlamaEngine engine = readyEngine(context);

            assertThat(engine.host()).isNotSameAs(early);
            assertThat(engine.info().contextPerSlot()).isEqualTo(512);
            assertThat(early.freed()).as("the model begun early is freed").isTrue();
        }
    }

    @Test
    void a_failed_load_nobody_adopted_does_not_end_the_process() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny.gguf"));
        // Exit on load failure is on (the default): an engine serving this load would end the process.
        ModelHost early = begun(Map.of("KNLLAMA_MODEL_PATH", dir.resolve("absent.gguf").toString(),
                "KNLLAMA_ENGINE_SLOTS", "1"));

        try (ApplicationContext context = contextFor(model, 256)) {
            LlamaEngine engine = readyEngine(context);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (early.failure().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }

            assertThat(early.failure()).hasValueSatisfying(reason -> assertThat(reason).contains("absent.gguf does not exist"));
            Thread.sleep(500); // the exit, were it coming, runs on a thread of its own
            assertThat(engine.ready()).isTrue();
        }
    }

    @Test
    void nothing_begins_without_settings_the_context_would_accept() {
        EarlyLoad.begin(Map.of("KNLLAMA_MODEL_PATH", "/models/m.gguf", "KNLLAMA_MODEL_CONTEXT_SIZE", "10"), Set.of(), List.of());

        assertThat(EarlyLoad.begun().join()).isEqualTo(Optional.empty());
    }

    @Test
    void nothing_begins_where_a_system_property_or_an_argument_sets_a_model_setting() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny.gguf"));
        Map<String, String> environment = Map.of("KNLLAMA_MODEL_PATH", model.toString(), "KNLLAMA_ENGINE_SLOTS", "1");

        EarlyLoad.begin(environment, Set.of("java.version", "knllama.model.mmap"), List.of());
        assertThat(EarlyLoad.begun().join()).as("a system property").isEmpty();

        EarlyLoad.begin(environment, Set.of("knllama.api.key"), List.of("--knllama.engine.threads=1"));
        assertThat(EarlyLoad.begun().join()).as("a command-line argument").isEmpty();
    }
}
