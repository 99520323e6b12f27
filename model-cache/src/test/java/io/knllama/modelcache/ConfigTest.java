package io.knllama.modelcache;

import io.knllama.modelcache.failure.ConfigurationException;
import io.knllama.modelcache.source.HuggingFaceHub;
import io.knllama.modelcache.source.ModelSource;
import io.knllama.modelcache.verify.Sha256;
import io.knllama.modelcache.verify.VerifyMode;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigTest {

    private static final String SHA = "0123456789abcdef".repeat(4);

    @Test
    void applies_defaults_to_everything_but_the_source() throws Exception {
        Config config = Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/sub/model.gguf"), List.of());

        assertThat(config.source()).isEqualTo(ModelSource.parse("hf://org/repo/sub/model.gguf@main"));
        assertThat(config.sha256()).isEmpty();
        assertThat(config.modelPath()).isEqualTo(Path.of("/models/model.gguf"));
        assertThat(config.verify()).isEqualTo(VerifyMode.MANIFEST);
        assertThat(config.hub()).isEqualTo(new HuggingFaceHub(URI.create("https://huggingface.co"), java.util.Optional.empty()));
        assertThat(config.lockStaleAfter()).isEqualTo(Duration.ofSeconds(30));
        assertThat(config.maxSize()).isEqualTo(64_000_000_000L);
    }

    @Test
    void reads_every_setting_from_the_environment() throws Exception {
        Config config = Config.from(Map.of(
                "KNLLAMA_MODEL_SOURCE", "https://example.com/x.gguf",
                "KNLLAMA_MODEL_SHA256", "sha256:" + SHA.toUpperCase(),
                "KNLLAMA_MODEL_DIR", "/mnt/cache",
                "KNLLAMA_MODEL_FILE", "model.gguf",
                "KNLLAMA_MODEL_VERIFY", "FULL",
                "HF_ENDPOINT", "https://hf-mirror.example.com/",
                "HF_TOKEN", "hf_abc",
                "KNLLAMA_MODEL_LOCK_STALE_SECONDS", "90",
                "KNLLAMA_MODEL_MAX_SIZE", "500 MB"), List.of());

        assertThat(config.sha256()).contains(new Sha256(SHA));
        assertThat(config.modelPath()).isEqualTo(Path.of("/mnt/cache/model.gguf"));
        assertThat(config.verify()).isEqualTo(VerifyMode.FULL);
        assertThat(config.hub().endpoint()).isEqualTo(URI.create("https://hf-mirror.example.com"));
        assertThat(config.hub().token()).hasValueSatisfying(token -> assertThat(token.value()).isEqualTo("hf_abc"));
        assertThat(config.lockStaleAfter()).isEqualTo(Duration.ofSeconds(90));
        assertThat(config.maxSize()).isEqualTo(500_000_000L);
    }

    @Test
    void reads_sizes_in_bytes_or_decimal_units_and_refuses_anything_else() {
        assertThat(Config.bytes("1000000")).isEqualTo(1_000_000L);
        assertThat(Config.bytes("2tb")).isEqualTo(2_000_000_000_000L);
        assertThat(Config.bytes("64GB")).isEqualTo(64_000_000_000L);
        for (String bad : new String[] {"64 GiB", "-1", "0", "1.5GB", "9999999999TB"}) {
            assertThatThrownBy(() -> Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf", "KNLLAMA_MODEL_MAX_SIZE", bad),
                    List.of())).as(bad).hasMessageContaining("KNLLAMA_MODEL_MAX_SIZE (--max-size): '" + bad + "'");
        }
    }

    @Test
    void lets_arguments_override_the_environment() throws Exception {
        Config config = Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf", "KNLLAMA_MODEL_DIR", "/models"),
                List.of("--source=file:///mnt/b.gguf", "--dir=/data", "--sha256=" + SHA, "--verify=full",
                        "--file=c.gguf", "--hf-endpoint=http://127.0.0.1:9", "--lock-stale-seconds=5"));

        assertThat(config.source()).isEqualTo(ModelSource.parse("file:///mnt/b.gguf"));
        assertThat(config.modelPath()).isEqualTo(Path.of("/data/c.gguf"));
        assertThat(config.sha256()).contains(new Sha256(SHA));
        assertThat(config.verify()).isEqualTo(VerifyMode.FULL);
        assertThat(config.hub().endpoint()).isEqualTo(URI.create("http://127.0.0.1:9"));
        assertThat(config.lockStaleAfter()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void treats_empty_values_as_unset_as_templated_manifests_produce_them() throws Exception {
        Config config = Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf", "KNLLAMA_MODEL_SHA256", "",
                "HF_TOKEN", " ", "KNLLAMA_MODEL_DIR", ""), List.of());

        assertThat(config.sha256()).isEmpty();
        assertThat(config.hub().token()).isEmpty();
        assertThat(config.directory()).isEqualTo(Path.of("/models"));
    }

    @Test
    void names_the_missing_source_and_shows_an_example() {
        assertThatThrownBy(() -> Config.from(Map.of(), List.of()))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("set KNLLAMA_MODEL_SOURCE (or --source)")
                .hasMessageContaining("hf://");
    }

    @Test
    void reports_every_problem_at_once() {
        assertThatThrownBy(() -> Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf",
                "KNLLAMA_MODEL_SHA256", "abc", "KNLLAMA_MODEL_VERIFY", "sometimes", "KNLLAMA_MODEL_DIR", "models"), List.of("--bogus=1")))
                .isInstanceOf(ConfigurationException.class)
                .hasMessageContaining("KNLLAMA_MODEL_SHA256 (--sha256): a sha256 is 64 hex digits")
                .hasMessageContaining("KNLLAMA_MODEL_VERIFY (--verify): 'sometimes' is neither 'manifest' nor 'full'")
                .hasMessageContaining("KNLLAMA_MODEL_DIR (--dir) must be an absolute path")
                .hasMessageContaining("unknown argument '--bogus=1'");
    }

    @Test
    void asks_for_a_file_name_when_the_source_has_none() {
        assertThatThrownBy(() -> Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "https://example.com/"), List.of()))
                .hasMessageContaining("the source names no file: set KNLLAMA_MODEL_FILE (--file)");
    }

    @Test
    void refuses_file_names_that_are_paths_or_hidden() {
        for (String name : new String[] {"../x.gguf", "a/b.gguf", ".x.gguf", ".."}) {
            Map<String, String> env = new HashMap<>(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf", "KNLLAMA_MODEL_FILE", name));
            assertThatThrownBy(() -> Config.from(env, List.of())).hasMessageContaining("must be a plain file name");
        }
    }

    @Test
    void takes_the_token_from_the_environment_only_and_never_repeats_it() {
        assertThatThrownBy(() -> Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf"), List.of("--hf-token=hf_abc")))
                .hasMessageContaining("read from HF_TOKEN only")
                .hasMessageNotContaining("hf_abc");
        assertThatThrownBy(() -> Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf", "HF_TOKEN", "hf_ab c"), List.of()))
                .hasMessageContaining("HF_TOKEN is malformed")
                .hasMessageNotContaining("hf_ab c");
    }

    @Test
    void takes_the_record_key_from_the_environment_only_and_never_repeats_it() throws Exception {
        assertThat(Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf"), List.of()).recordKey()).isEmpty();
        assertThat(Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf", "KNLLAMA_MODEL_RECORD_KEY", "s".repeat(32)),
                List.of()).recordKey()).isPresent();
        assertThatThrownBy(() -> Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf", "KNLLAMA_MODEL_RECORD_KEY",
                "too-short-secret"), List.of()))
                .hasMessageContaining("KNLLAMA_MODEL_RECORD_KEY: it must be at least 32 characters")
                .hasMessageNotContaining("too-short-secret");
        assertThatThrownBy(() -> Config.from(Map.of("KNLLAMA_MODEL_SOURCE", "hf://org/repo/a.gguf"), List.of("--record-key=" + "s".repeat(32))))
                .hasMessageContaining("read from KNLLAMA_MODEL_RECORD_KEY only")
                .hasMessageNotContaining("s".repeat(32));
    }

    @Test
    void wants_flags_written_with_an_equals_sign() {
        assertThatThrownBy(() -> Config.from(Map.of(), List.of("--source", "hf://org/repo/a.gguf")))
                .hasMessageContaining("write --source=<value>");
    }

    @Test
    void documents_every_setting_in_the_usage() {
        for (Setting setting : Setting.values()) {
            assertThat(Config.usage()).contains(setting.env);
        }
        assertThat(Config.usage()).contains("--sha256=").contains("Exit codes");
    }
}
