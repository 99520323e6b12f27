package io.knllama.openai;

import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One slot, no queue, and a model that never stops on its own (it repeats " hello world"): a running
 * stream holds the only slot for as long as it runs.
 */
class OverloadTest {

    private static final String LONG_STREAM = """
            {"model":"tiny","messages":[{"role":"user","content":"go"}],"stream":true,"max_tokens":16000}""";
    private static final String SHORT = """
            {"model":"tiny","messages":[{"role":"user","content":"go"}],"max_tokens":4}""";

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TinyModel.builder().script("\u2581hello", "\u2581world").build(), Map.of(
                "knllama.engine.slots", 1,
                "knllama.engine.queue-capacity", 0,
                "knllama.model.context-size", 16384));
    }

    @org.junit.jupiter.api.BeforeEach
    void idle() {
        server.awaitIdle(Duration.ofSeconds(60));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void sheds_a_request_with_503_and_retry_after_while_the_slot_is_busy_without_waiting_for_it() throws Exception {
        try (var running = server.stream("/v1/chat/completions", LONG_STREAM)) {
            assertThat(running.next()).contains("assistant"); // the slot is held from here on

            var shed = server.post("/v1/chat/completions", SHORT);

            assertThat(shed.status()).isEqualTo(503);
            assertThat(shed.header("Retry-After")).matches("[1-9][0-9]*");
            assertThat(shed.json().get("error").get("code").getStringValue()).isEqualTo("overloaded");
            // Shed while the stream still holds the slot: the refusal did not wait for it to come free.
            assertThat(running.next()).as("the running stream goes on").contains("\"content\"");
        }
    }

    /**
     * The OpenAI surface's disconnect (server-sent events); {@code OllamaOverloadTest} has the Ollama one and
     * ChatPageIT the page's Stop button. Uncancelled, the generation would run to its 16000 tokens and end as
     * {@code length}; cancelled, it is counted as {@code cancelled} and the slot is free for the next request.
     */
    @Test
    void a_client_that_disconnects_cancels_its_generation_and_frees_its_slot() throws Exception {
        double cancelled = server.requests("cancelled");
        double cut = server.requests("length");
        var running = server.stream("/v1/chat/completions", LONG_STREAM);
        assertThat(running.next()).contains("assistant");

        running.close();
        server.awaitIdle(Duration.ofSeconds(60));

        assertThat(server.requests("cancelled")).isEqualTo(cancelled + 1);
        assertThat(server.requests("length")).as("not run to max_tokens").isEqualTo(cut);
        assertThat(server.post("/v1/chat/completions", SHORT).status()).isEqualTo(200);
    }
}
