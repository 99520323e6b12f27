package io.knllama.model;

import io.knllama.gguf.TinyModel;
import io.knllama.inference.LlamaEngine;
import io.micronaut.context.ApplicationContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Bad configuration stops start-up with a message naming the setting. A bad model file is found by the
 * background loader, which would end the process; here it is told not to, so the reason can be read.
 */
class ConfigurationTest {

    @TempDir
    Path dir;

    private Map<String, Object> properties(Path model, Object... extra) {
        return properties(model.toString(), extra);
    }

    private Map<String, Object> properties(String model, Object... extra) {
        Map<String, Object> properties = new HashMap<>(Map.of("knllama.model.path", model,
                "knllama.engine.slots", 1, "knllama.model.context-size", 256));
        for (int i = 0; i < extra.length; i += 2) {
            properties.put((String) extra[i], extra[i + 1]);
        }
        return properties;
    }

    private Throwable startFailure(Map<String, Object> properties) {
        Throwable failure = null;
        try (ApplicationContext context = ApplicationContext.run(properties)) {
            context.getBean(LlamaEngine.class);
        } catch (Throwable t) {
            failure = t;
        }
        assertThat(failure).as("start-up should fail").isNotNull();
        return failure;
    }

    private static String messages(Throwable failure) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            all.append(t.getMessage()).append('\n');
        }
        return all.toString();
    }

    @Test
    void a_missing_model_path_is_named() {
        Throwable failure = startFailure(Map.of());

        assertThat(messages(failure)).contains("path");
    }

    private String loadFailure(Path model) throws InterruptedException {
        return loadFailure(model.toString());
    }

    private String loadFailure(String model) throws InterruptedException {
        try (ApplicationContext context = ApplicationContext.run(properties(model, "knllama.engine.exit-on-load-failure", false))) {
            LlamaEngine engine = context.getBean(LlamaEngine.class);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (engine.loadFailure().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(engine.ready()).isFalse();
            return engine.loadFailure().orElseThrow(() -> new AssertionError("no load failure reported"));
        }
    }

    @Test
    void a_load_that_throws_what_nobody_expected_fails_instead_of_loading_for_ever() throws Exception {
        // Not a path at all (a NUL byte): Path.of throws an unchecked exception on the load's thread.
        assertThat(loadFailure(dir + "/model\u0000.gguf")).contains("its load failed unexpectedly")
                .contains("InvalidPathException");
    }

    @Test
    void a_model_file_that_does_not_exist_says_how_to_get_one() throws Exception {
        assertThat(loadFailure(dir.resolve("absent.gguf"))).contains("absent.gguf does not exist").contains("KNLLAMA_MODEL_PATH");
    }

    @Test
    void a_truncated_model_is_refused_before_llama_cpp_sees_it() throws Exception {
        byte[] bytes = TinyModel.builder().build().toBytes();
        Path cut = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(bytes, bytes.length / 2));

        assertThat(loadFailure(cut)).contains("not a usable GGUF model").contains("truncated");
    }

    @Test
    void a_file_that_is_not_gguf_is_refused() throws Exception {
        Path html = Files.writeString(dir.resolve("model.gguf"), "<html><body>Access denied</body></html>");

        assertThat(loadFailure(html)).contains("magic");
    }

    @Test
    void an_unknown_chat_template_name_is_named() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny.gguf"));

        Throwable failure = startFailure(properties(model, "knllama.model.chat-template", "gemma4"));

        assertThat(messages(failure)).contains("gemma4").contains("built-in");
    }

    @Test
    void out_of_range_engine_settings_name_the_key() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny.gguf"));

        Throwable failure = startFailure(properties(model, "knllama.engine.slots", 0));

        assertThat(messages(failure)).contains("slots");
    }

    @Test
    void a_valid_configuration_starts_and_loads_the_model() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny.gguf"));

        try (ApplicationContext context = ApplicationContext.run(properties(model))) {
            LlamaEngine engine = context.getBean(LlamaEngine.class);
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!engine.ready() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(engine.ready()).isTrue();
            assertThat(engine.info().id()).isEqualTo("tiny");
            assertThat(engine.info().chatFormat()).contains("model's own");
        }
    }
}
