package io.knllama.modelcache;

import io.knllama.gguf.TinyModel;
import io.knllama.modelcache.failure.ConfigurationException;
import io.knllama.modelcache.failure.IntegrityException;
import io.knllama.modelcache.failure.ModelCacheException;
import io.knllama.modelcache.failure.SourceException;
import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.failure.UnavailableException;
import io.knllama.modelcache.log.Log;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

class MainTest {

    @TempDir
    Path dir;

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private FakeHuggingFace hf;

    @BeforeEach
    void start() throws Exception {
        hf = FakeHuggingFace.start()
                .put("org/tiny-GGUF", "main", "tiny.gguf", TinyModel.builder().build().toBytes())
                .put("org/tiny-GGUF", "main", "page.gguf", "<html>Sign in to continue</html>".repeat(10).getBytes(StandardCharsets.UTF_8));
    }

    @AfterEach
    void stop() {
        hf.close();
    }

    @Test
    void prints_every_setting_for_help_and_exits_0() {
        assertThat(run(Map.of(), "--help")).isZero();

        assertThat(out.toString(StandardCharsets.UTF_8)).contains("KNLLAMA_MODEL_SOURCE").contains("HF_TOKEN");
    }

    @Test
    void exits_0_once_the_model_is_ready() {
        assertThat(run(env("hf://org/tiny-GGUF/tiny.gguf"))).isZero();

        assertThat(dir.resolve("tiny.gguf")).exists();
        assertThat(lines).last().asString().contains("INFO  model ready");
    }

    @Test
    void exits_2_naming_the_setting_to_fix() {
        assertThat(run(Map.of("KNLLAMA_MODEL_DIR", dir.toString()))).isEqualTo(2);

        assertThat(lines).last().asString().contains("ERROR invalid configuration: set KNLLAMA_MODEL_SOURCE");
    }

    @Test
    void exits_3_when_the_source_has_no_such_file() {
        assertThat(run(env("hf://org/tiny-GGUF/missing.gguf"))).isEqualTo(3);

        assertThat(lines).last().asString().contains("ERROR Hugging Face has no hf://org/tiny-GGUF/missing.gguf@main");
    }

    @Test
    void exits_3_with_the_source_error_when_a_redirect_leads_to_a_file_url() {
        hf.failNext(302, Map.of("Location", "file:///etc/passwd"));

        assertThat(run(env("hf://org/tiny-GGUF/tiny.gguf"))).isEqualTo(3);

        assertThat(lines).last().asString().contains("ERROR").contains("redirected to file:///etc/passwd")
                .doesNotContain("This is a bug");
    }

    @Test
    void exits_4_when_the_download_is_not_a_gguf_model() {
        assertThat(run(env("hf://org/tiny-GGUF/page.gguf"))).isEqualTo(4);

        assertThat(lines).last().asString().contains("ERROR the file downloaded from hf://org/tiny-GGUF/page.gguf@main is not a usable GGUF model: not a GGUF file");
        assertThat(dir.resolve("page.gguf")).doesNotExist();
    }

    @Test
    void gives_each_kind_of_failure_its_own_exit_code() {
        List<ModelCacheException> failures = List.of(new ConfigurationException("c"), new SourceException("s"),
                new IntegrityException("i"), new UnavailableException("u"), new StorageException("v"));

        assertThat(failures).extracting(ModelCacheException::exitCode).containsExactly(2, 3, 4, 5, 6);
    }

    private Map<String, String> env(String source) {
        return new HashMap<>(Map.of("KNLLAMA_MODEL_SOURCE", source, "KNLLAMA_MODEL_DIR", dir.toString(),
                "HF_ENDPOINT", hf.endpoint().toString()));
    }

    private int run(Map<String, String> env, String... args) {
        return Main.run(Stream.of(args).toList(), env, Log.to(lines::add, Clock.systemUTC()),
                new PrintStream(out, true, StandardCharsets.UTF_8));
    }
}
