package io.knllama.auth;

import io.knllama.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ApiKeyTest {

    private static final String KEY = "sk-test-0123456789abcdef";
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("knllama.api.key", KEY));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void refuses_requests_without_a_key_with_an_openai_shaped_401() {
        var response = server.get("/v1/models");

        assertThat(response.status()).isEqualTo(401);
        assertThat(response.json().get("error").get("code").getStringValue()).isEqualTo("invalid_api_key");
    }

    @Test
    void refuses_a_wrong_key() {
        var response = server.post("/v1/chat/completions", "{}", Map.of("Authorization", "Bearer sk-wrong-0123456789abcdef"));

        assertThat(response.status()).isEqualTo(401);
        assertThat(response.json().get("error").get("message").getStringValue()).contains("Incorrect API key");
    }

    @Test
    void accepts_the_configured_key_as_a_bearer_token() {
        var response = server.send(java.net.http.HttpRequest.newBuilder(server.uri("/v1/models"))
                .header("Authorization", "Bearer " + KEY).GET());

        assertThat(response.status()).isEqualTo(200);
    }

    @Test
    void events_need_the_key_at_the_root_as_on_their_own_routes_while_the_chat_page_stays_open() {
        String event = "{\"specversion\":\"1.0\",\"id\":\"e1\",\"source\":\"/test\",\"type\":\"io.knllama.prompt.v1\","
                + "\"data\":{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}";
        Map<String, String> structured = Map.of("Content-Type", "application/cloudevents+json");

        assertThat(server.post("/", event, structured).status()).isEqualTo(401);
        assertThat(server.post("/events", event, structured).status()).isEqualTo(401);
        assertThat(server.get("/").status()).isEqualTo(200);
    }

    @Test
    void leaves_health_and_metrics_open_for_the_platform() {
        assertThat(server.get("/health/readiness").status()).isEqualTo(200);
        assertThat(server.get("/health/liveness").status()).isEqualTo(200);
        assertThat(server.get("/metrics").status()).isEqualTo(200);
    }
}
