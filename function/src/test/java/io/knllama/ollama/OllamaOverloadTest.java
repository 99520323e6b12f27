package io.knllama.ollama;

import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Shedding and authentication on the Ollama routes: one slot, no queue, an API key. */
class OllamaOverloadTest {

    private static final String KEY = "a-key-of-sixteen-characters";
    private static final Map<String, String> AUTH = Map.of("Authorization", "Bearer " + KEY);
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TinyModel.builder().script("\u2581hello", "\u2581world").build(), Map.of(
                "knllama.engine.slots", 1,
                "knllama.engine.queue-capacity", 0,
                "knllama.model.context-size", 16384,
                "knllama.api.key", KEY));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static final String LONG = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"go\"}],"
            + "\"options\":{\"num_predict\":16000}}";

    @org.junit.jupiter.api.BeforeEach
    void idle() {
        server.awaitIdle(Duration.ofSeconds(60));
    }

    @Test
    void a_request_shed_while_the_slot_is_busy_gets_a_plain_503_with_retry_after_not_a_stream() throws Exception {
        try (var running = server.stream("/api/chat", LONG, AUTH)) {
            assertThat(running.nextLine()).contains("\"done\":false"); // the slot is held from here on

            var shed = server.post("/api/chat", LONG, AUTH);

            assertThat(shed.status()).isEqualTo(503);
            assertThat(shed.header("Retry-After")).matches("[1-9][0-9]*");
            assertThat(shed.header("content-type")).startsWith("application/json");
            assertThat(shed.json().get("error").getStringValue()).isNotBlank();
        }
    }

    /**
     * The Ollama surface's disconnect (newline-delimited JSON, its own stream mapping): the generation is
     * cancelled, not run to its 16000 tokens, and the slot serves the next request.
     */
    @Test
    void a_client_that_disconnects_from_its_stream_cancels_the_generation_and_frees_the_slot() throws Exception {
        double cancelled = server.requests("cancelled");
        var running = server.stream("/api/chat", LONG, AUTH);
        assertThat(running.nextLine()).contains("\"done\":false");

        running.close();
        server.awaitIdle(Duration.ofSeconds(60));

        assertThat(server.requests("cancelled")).isEqualTo(cancelled + 1);
        assertThat(server.post("/api/generate", "{\"model\":\"tiny\",\"prompt\":\"go\",\"stream\":false,"
                + "\"options\":{\"num_predict\":2}}", AUTH).status()).isEqualTo(200);
    }

    @Test
    void the_api_key_guards_the_ollama_routes_with_an_error_in_ollamas_shape() {
        var missing = server.get("/api/tags");
        var wrong = server.post("/api/show", "{\"model\":\"tiny\"}", Map.of("Authorization", "Bearer not-the-key-at-all"));
        var right = server.send(java.net.http.HttpRequest.newBuilder(server.uri("/api/tags")).header("Authorization", "Bearer " + KEY));

        assertThat(missing.status()).isEqualTo(401);
        assertThat(missing.json().get("error").getStringValue()).contains("API key");
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(right.status()).isEqualTo(200);
    }
}
