package io.knllama.config;

import io.knllama.inference.EngineProperties;
import io.knllama.model.ModelProperties;
import io.micronaut.context.ApplicationContext;
import io.micronaut.context.env.PropertySource;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The settings read before the context are the records the context binds from the same environment, or none. */
class EnvironmentSettingsTest {

    /**
     * Both records read here equal those Micronaut binds from the same variables (the model is absent: its load is
     * told to fail quietly).
     */
    private static void assertSameAsMicronaut(Map<String, String> variables) {
        Map<String, String> environment = new HashMap<>(variables);
        environment.put("KNLLAMA_ENGINE_EXIT_ON_LOAD_FAILURE", "false");
        try (ApplicationContext context = ApplicationContext.builder()
                .propertySources(PropertySource.of("env", new HashMap<String, Object>(environment), PropertySource.PropertyConvention.ENVIRONMENT_VARIABLE))
                .start()) {
            assertThat(EnvironmentSettings.bind(ModelProperties.class, ModelProperties.PREFIX, environment))
                    .contains(context.getBean(ModelProperties.class));
            assertThat(EnvironmentSettings.bind(EngineProperties.class, EngineProperties.PREFIX, environment))
                    .contains(context.getBean(EngineProperties.class));
        }
    }

    @Test
    void reads_the_defaults_as_micronaut_binds_them() {
        assertSameAsMicronaut(Map.of("KNLLAMA_MODEL_PATH", "/models/absent.gguf"));
    }

    @Test
    void reads_every_setting_as_micronaut_binds_it() {
        assertSameAsMicronaut(Map.ofEntries(
                Map.entry("KNLLAMA_MODEL_PATH", "/models/absent.gguf"),
                Map.entry("KNLLAMA_MODEL_ID", "gemma:270m"),
                Map.entry("KNLLAMA_MODEL_CONTEXT_SIZE", "2048"),
                Map.entry("KNLLAMA_MODEL_GPU_LAYERS", "3"),
                Map.entry("KNLLAMA_MODEL_EMBEDDINGS", "true"),
                Map.entry("KNLLAMA_MODEL_CHAT_TEMPLATE", "chatml"),
                Map.entry("KNLLAMA_MODEL_PROMPT_CACHE", "false"),
                Map.entry("KNLLAMA_MODEL_MMAP", "FALSE"),
                Map.entry("KNLLAMA_ENGINE_SLOTS", "3"),
                Map.entry("KNLLAMA_ENGINE_THREADS", "5"),
                Map.entry("KNLLAMA_ENGINE_QUEUE_CAPACITY", "0"),
                Map.entry("KNLLAMA_ENGINE_MAX_QUEUE_WAIT", "2m"),
                Map.entry("KNLLAMA_ENGINE_REQUEST_TIMEOUT", "PT45S"),
                Map.entry("KNLLAMA_ENGINE_BATCH_SIZE", "256"),
                Map.entry("KNLLAMA_ENGINE_NATIVE_LOG", "true")));
    }

    @Test
    void names_the_variable_micronaut_maps_to_a_component() {
        assertThat(EnvironmentSettings.variable("knllama.model", "contextSize")).isEqualTo("KNLLAMA_MODEL_CONTEXT_SIZE");
        assertThat(EnvironmentSettings.variable("knllama.engine", "exitOnLoadFailure")).isEqualTo("KNLLAMA_ENGINE_EXIT_ON_LOAD_FAILURE");
        assertThat(EnvironmentSettings.variable("knllama.model", "path")).isEqualTo("KNLLAMA_MODEL_PATH");
    }

    @Test
    void gives_no_record_where_the_context_would_refuse_the_values_or_read_them_otherwise() {
        Map<String, String> valid = Map.of("KNLLAMA_MODEL_PATH", "/models/m.gguf");
        assertThat(EnvironmentSettings.bind(ModelProperties.class, ModelProperties.PREFIX, valid)).isPresent();

        for (Map.Entry<String, String> bad : List.of(
                Map.entry("KNLLAMA_MODEL_CONTEXT_SIZE", "lots"), // not a number
                Map.entry("KNLLAMA_MODEL_GPU_LAYERS", "-1"), // below @Min(0)
                Map.entry("KNLLAMA_MODEL_CONTEXT_SIZE", "2000000"), // above @Max(1 << 20)
                Map.entry("KNLLAMA_MODEL_CHAT_TEMPLATE", "Chat ML!"), // breaks @Pattern
                Map.entry("KNLLAMA_MODEL_MMAP", "yes"), // a boolean in a form this does not read
                Map.entry("KNLLAMA_MODEL_PATH", " "))) { // @NotBlank
            Map<String, String> environment = new HashMap<>(valid);
            environment.put(bad.getKey(), bad.getValue());
            assertThat(EnvironmentSettings.bind(ModelProperties.class, ModelProperties.PREFIX, environment))
                    .as("%s=%s", bad.getKey(), bad.getValue()).isEmpty();
        }
        assertThat(EnvironmentSettings.bind(ModelProperties.class, ModelProperties.PREFIX, Map.of())).as("no path").isEmpty();
        for (String duration : List.of("1 minute", "pt30s", "-PT5S", "+PT5S")) { // forms Micronaut refuses
            assertThat(EnvironmentSettings.bind(EngineProperties.class, EngineProperties.PREFIX,
                    Map.of("KNLLAMA_ENGINE_MAX_QUEUE_WAIT", duration))).as(duration).isEmpty();
        }
        assertThat(EnvironmentSettings.bind(EngineProperties.class, EngineProperties.PREFIX,
                Map.of("KNLLAMA_ENGINE_SLOTS", "0"))).as("slots below @Min(1)").isEmpty();
    }

    @Test
    void reads_durations_in_micronauts_short_form() {
        assertThat(EnvironmentSettings.bind(EngineProperties.class, EngineProperties.PREFIX,
                Map.of("KNLLAMA_ENGINE_MAX_QUEUE_WAIT", "1500ms")).map(EngineProperties::maxQueueWait))
                .contains(Duration.ofMillis(1500));
    }
}
