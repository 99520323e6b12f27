package io.knllama.e2e;

import io.knllama.gguf.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What an operator sees at start-up: a clear error and a non-zero exit for a bad model; the facts, never prompts. */
class StartupIT {

    @TempDir
    Path dir;

    @Test
    void a_truncated_model_file_stops_the_process_with_a_clear_error() throws Exception {
        byte[] model = TinyModel.builder().build().toBytes();
        Path cut = Files.write(dir.resolve("model.gguf"), Arrays.copyOf(model, model.length - 4096));

        try (FunctionProcess function = FunctionProcess.launch("startup-truncated", Map.of("KNLLAMA_MODEL_PATH", cut.toString()))) {
            int exit = function.awaitExit(Duration.ofSeconds(60));

            assertThat(exit).isNotIn(0, -1);
            assertThat(function.log()).contains("not a usable GGUF model").contains("truncated").doesNotContain("GGML_ASSERT");
        }
    }

    @Test
    void an_architecture_llama_cpp_does_not_know_stops_the_process_with_a_clear_error() throws Exception {
        Path future = TinyModel.builder().build().putString("general.architecture", "llama9000").write(dir.resolve("future.gguf"));

        try (FunctionProcess function = FunctionProcess.launch("startup-architecture", Map.of("KNLLAMA_MODEL_PATH", future.toString()))) {
            int exit = function.awaitExit(Duration.ofSeconds(60));

            assertThat(exit).isEqualTo(1);
            assertThat(function.log()).contains("llama.cpp could not load").contains("llama9000");
        }
    }

    @Test
    void the_log_names_the_model_load_time_slots_and_threads_but_never_a_prompt() throws Exception {
        String marker = "zebra-" + System.nanoTime();
        try (FunctionProcess function = FunctionProcess.start("startup-log", Map.of("KNLLAMA_ENGINE_SLOTS", "2"))) {
            HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(function.uri("/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            Sse.chat("Repeat after me: " + marker, 8).replace("\"stream\":true", "\"stream\":false"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            function.terminate();
            function.awaitExit(Duration.ofSeconds(30));

            assertThat(function.log())
                    .containsPattern("Model '" + FunctionProcess.MODEL_ID + "' checked in [0-9]+ ms, loaded in [0-9]+ ms")
                    .contains("2 slots x 4096 tokens").contains("2 threads")
                    .doesNotContain(marker).doesNotContain("Repeat after me");
        }
    }
}
