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
    void sheds_a_request_at_once_with_503_and_retry_after_while_the_slot_is_busy() throws Exception {
        try (var running = server.stream("/v1/chat/completions", LONG_STREAM)) {
            assertThat(running.next()).contains("assistant"); // the slot is held from here on

            long start = System.nanoTime();
            var shed = server.post("/v1/chat/completions", SHORT);
            long millis = (System.nanoTime() - start) / 1_000_000;

            assertThat(shed.status()).isEqualTo(503);
            assertThat(shed.header("Retry-After")).matches("[1-9][0-9]*");
            assertThat(shed.json().get("error").get("code").getStringValue()).isEqualTo("overloaded");
            assertThat(millis).as("shedding must not wait").isLessThan(2000);
        }
    }

    @Test
    void a_client_that_disconnects_frees_its_slot_at_once() throws Exception {
        var running = server.stream("/v1/chat/completions", LONG_STREAM);
        assertThat(running.next()).contains("assistant");
        running.close();

        // Uncancelled, the 16000 tokens hold the slot for over 10 s on a 2-core machine.
        assertThat(server.awaitIdle(Duration.ofSeconds(30))).isLessThan(Duration.ofSeconds(1));
        assertThat(server.post("/v1/chat/completions", SHORT).status()).isEqualTo(200);
        assertThat(server.get("/metrics").body()).containsPattern("knllama_requests_total\\{.*outcome=\"cancelled\".*} [1-9]");
    }
}
