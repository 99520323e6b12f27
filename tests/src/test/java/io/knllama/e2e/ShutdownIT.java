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

    @Test
    void a_stream_running_at_sigterm_completes_and_the_process_then_exits_within_the_grace_period() throws Exception {
        try (FunctionProcess function = FunctionProcess.start("shutdown-drain", Map.of("KNLLAMA_SHUTDOWN_GRACE_PERIOD", "90s"))) {
            try (Sse stream = Sse.open(function.uri("/v1/chat/completions"),
                    Sse.chat("Write a long story about a llama.", 64), Duration.ofSeconds(120))) {
                assertThat(stream.next()).contains("assistant");
                assertThat(stream.next()).contains("content");

                long sigterm = System.nanoTime();
                function.terminate();
                CompletableFuture<Integer> refused = CompletableFuture.supplyAsync(() -> statusOfNewRequest(function));

                String last = stream.drain();
                long streamEnd = System.nanoTime();
                int exit = function.awaitExit(Duration.ofSeconds(100));
                long exited = System.nanoTime();

                assertThat(last).as("the stream ends normally").isEqualTo("[DONE]");
                assertThat(refused.get()).as("no new work is accepted while draining").isNotEqualTo(200);
                assertThat(exit).as("the process exits (SIGTERM gives 143)").isIn(0, 143);
                assertThat(Duration.ofNanos(exited - sigterm)).isLessThan(Duration.ofSeconds(90));
                assertThat(Duration.ofNanos(exited - streamEnd)).as("exit follows the last stream promptly").isLessThan(Duration.ofSeconds(5));
            }
            assertThat(function.log()).contains("Shutting down");
        }
    }

    @Test
    void a_generation_longer_than_the_grace_period_does_not_keep_the_process_alive() throws Exception {
        try (FunctionProcess function = FunctionProcess.start("shutdown-grace", Map.of("KNLLAMA_SHUTDOWN_GRACE_PERIOD", "3s"))) {
            try (Sse stream = Sse.open(function.uri("/v1/chat/completions"),
                    Sse.chat("Write a very long story.", 3000), Duration.ofSeconds(120))) {
                assertThat(stream.next()).contains("assistant");
                long sigterm = System.nanoTime();

                function.terminate();
                int exit = function.awaitExit(Duration.ofSeconds(30));

                assertThat(exit).isNotEqualTo(-1);
                assertThat(Duration.ofNanos(System.nanoTime() - sigterm)).isLessThan(Duration.ofSeconds(10));
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
