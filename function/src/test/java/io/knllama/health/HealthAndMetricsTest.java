package io.knllama.health;

import io.knllama.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class HealthAndMetricsTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void readiness_is_up_once_the_model_is_loaded_and_names_it() {
        var response = server.get("/health/readiness");

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.body()).contains("\"status\":\"UP\"").contains("tiny");
    }

    @Test
    void metrics_expose_requests_tokens_latencies_slots_and_queue_in_prometheus_format() {
        server.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":5}");
        server.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[]}");

        var response = server.get("/metrics");

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.header("content-type")).startsWith("text/plain");
        assertThat(response.body())
                .containsPattern("knllama_requests_total\\{.*outcome=\"(stop|length)\".*} [1-9]")
                .contains("knllama_prompt_tokens_total")
                .containsPattern("knllama_generated_tokens_total [1-9]")
                .contains("knllama_time_to_first_token_seconds_bucket")
                .contains("knllama_inter_token_latency_seconds_bucket")
                .contains("knllama_request_duration_seconds_count")
                .contains("knllama_slots 2.0")
                .contains("knllama_slots_busy")
                .contains("knllama_queue_depth")
                .containsPattern("knllama_model_load_seconds [0-9]+\\.[0-9]*[1-9][0-9]*");
    }
}
