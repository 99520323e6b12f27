package io.knllama.auth;

import io.knllama.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The instance Knative Eventing's Triggers deliver to: events without a key, and nothing else. */
class EventsOnlyTest {

    private static final String EVENT = "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/test\",\"type\":\"io.knllama.prompt.v1\","
            + "\"data\":{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}}";
    private static final Map<String, String> STRUCTURED = Map.of("Content-Type", "application/cloudevents+json");
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("knllama.api.routes", "events"));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void takes_events_at_the_root_and_on_the_events_routes_without_a_key() {
        assertThat(server.post("/", EVENT, STRUCTURED).status()).isEqualTo(200);
        assertThat(server.post("/events", EVENT.replace("\"e1\"", "\"e2\""), STRUCTURED).status()).isEqualTo(200);
    }

    @Test
    void answers_404_to_the_openai_and_ollama_apis_and_the_chat_page() {
        var chat = server.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", Map.of());

        assertThat(chat.status()).isEqualTo(404);
        assertThat(chat.json().get("error").get("message").getStringValue()).contains("events only");
        assertThat(server.get("/v1/models").status()).isEqualTo(404);
        assertThat(server.post("/api/generate", "{\"model\":\"tiny\",\"prompt\":\"hi\"}", Map.of()).status()).isEqualTo(404);
        assertThat(server.get("/").status()).isEqualTo(404);
    }

    @Test
    void leaves_health_and_metrics_open_for_the_platform() {
        assertThat(server.get("/health/readiness").status()).isEqualTo(200);
        assertThat(server.get("/metrics").status()).isEqualTo(200);
    }
}
