package io.knllama.e2e;

import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** SIGTERM, as Kubernetes sends it when Knative scales a pod down. */
class ShutdownIT {

    /** Micronaut's warning when the grace period runs out with work still running. */
    private static final String GRACE_RAN_OUT = "Timeout hit in graceful shutdown";

    /**
     * The grace period (10 minutes) is far longer than the stream: the process must exit because its last stream
     * ended, not because the grace period ran out. (The wait for the exit only keeps a broken build from hanging.)
     */
    @Test
    void a_stream_running_at_sigterm_completes_and_the_process_exits_when_it_ends() throws Exception {
        try (FunctionProcess function = FunctionProcess.start("shutdown-drain", Map.of("KNLLAMA_SHUTDOWN_GRACE_PERIOD", "600s"))) {
            try (Sse stream = Sse.open(function.uri("/v1/chat/completions"),
                    Sse.chat("Write a long story about a llama.", 64), Duration.ofSeconds(120))) {
                assertThat(stream.next()).contains("assistant");
                assertThat(stream.next()).contains("content");

                function.terminate();
                CompletableFuture<Integer> refused = CompletableFuture.supplyAsync(() -> statusOfNewRequest(function));

                String last = stream.drain();
                int exit = function.awaitExit(Duration.ofSeconds(180));

                assertThat(last).as("the stream ends normally").isEqualTo("[DONE]");
                assertThat(refused.get()).as("no new work is accepted while draining").isNotEqualTo(200);
                assertThat(exit).as("the process exits (SIGTERM gives 143)").isIn(0, 143);
            }
            assertThat(function.log()).contains("Shutting down").doesNotContain(GRACE_RAN_OUT);
        }
    }

    /**
     * A raw completion with its end-of-text tokens banned cannot end on its own before its 3000 tokens: the
     * process exits because the 3 s grace period ran out, and does not wait for the generation.
     */
    @Test
    void a_generation_longer_than_the_grace_period_does_not_keep_the_process_alive() throws Exception {
        try (FunctionProcess function = FunctionProcess.start("shutdown-grace", Map.of("KNLLAMA_SHUTDOWN_GRACE_PERIOD", "3s"))) {
            String endless = """
                    {"model":"%s","prompt":"Once upon a time","max_tokens":3000,"stream":true,"logit_bias":{"1":-100,"106":-100}}"""
                    .formatted(FunctionProcess.MODEL_ID);
            try (Sse stream = Sse.open(function.uri("/v1/completions"), endless, Duration.ofSeconds(120))) {
                assertThat(stream.next()).contains("text_completion");

                function.terminate();
                int exit = function.awaitExit(Duration.ofSeconds(120));

                assertThat(exit).as("the process exited").isNotEqualTo(-1);
                assertThat(function.log()).contains(GRACE_RAN_OUT);
            }
        }
    }

    private static int statusOfNewRequest(FunctionProcess function) {
        FunctionProcess.sleep(300);
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(function.uri("/v1/chat/completions"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofString(Sse.chat("hi", 4).replace("\"stream\":true", "\"stream\":false")))
                    .build(), HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (Exception connectionRefused) {
            return -1;
        }
    }
}
