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

    /** The function's warning when the grace period runs out with work still running. */
    private static final String GRACE_RAN_OUT = "ran out: ending";

    /**
     * The grace period (10 minutes) is far longer than the stream: the process must exit because its last stream
     * ended, not because the grace period ran out. (The wait for the exit only keeps a broken build from hanging.)
     */
    @Test
    void a_stream_running_at_sigterm_completes_and_the_process_exits_when_it_ends() throws Exception {
        try (FunctionProcess function = FunctionProcess.start("shutdown-drain", Map.of("KNLLAMA_SHUTDOWN_GRACE_PERIOD", "600s"))) {
            // 400 tokens with the end-of-text tokens banned: seconds of drain, however fast the machine, so the
            // requests below arrive while it lasts (64 tokens of a story once ended first and the port was gone).
            String long400 = """
                    {"model":"%s","prompt":"Once upon a time","max_tokens":400,"stream":true,"logit_bias":{"1":-100,"106":-100}}"""
                    .formatted(FunctionProcess.MODEL_ID);
            try (Sse stream = Sse.open(function.uri("/v1/completions"), long400, Duration.ofSeconds(120))) {
                assertThat(stream.next()).contains("text_completion");

                function.terminate();
                CompletableFuture<HttpResponse<String>> refused = CompletableFuture.supplyAsync(() -> newRequest(function, "/v1/chat/completions"));
                CompletableFuture<HttpResponse<String>> readiness = CompletableFuture.supplyAsync(() -> newRequest(function, "/health/readiness"));

                String last = stream.drain();
                int exit = function.awaitExit(Duration.ofSeconds(180));

                assertThat(last).as("the stream ends normally").isEqualTo("[DONE]");
                // While it drains, the port stays open: a new request learns why it is refused and to retry elsewhere.
                assertThat(refused.get().statusCode()).isEqualTo(503);
                assertThat(refused.get().body()).contains("\"code\":\"shutting_down\"");
                assertThat(refused.get().headers().firstValue("Retry-After")).isPresent();
                assertThat(readiness.get().statusCode()).isEqualTo(503);
                assertThat(exit).as("the process exits with SIGTERM's status").isEqualTo(143);
            }
            assertThat(function.log()).contains("Shutting down").doesNotContain(GRACE_RAN_OUT);
        }
    }

    /**
     * A raw completion with its end-of-text tokens banned cannot end on its own before its 3000 tokens: when the
     * 3 s grace period runs out the stream ends with the shutting_down error event, so its client knows the text
     * is cut, and the process exits without waiting for the generation.
     */
    @Test
    void a_generation_longer_than_the_grace_period_ends_with_the_shutting_down_error_and_the_process_exits() throws Exception {
        try (FunctionProcess function = FunctionProcess.start("shutdown-grace", Map.of("KNLLAMA_SHUTDOWN_GRACE_PERIOD", "3s"))) {
            String endless = """
                    {"model":"%s","prompt":"Once upon a time","max_tokens":3000,"stream":true,"logit_bias":{"1":-100,"106":-100}}"""
                    .formatted(FunctionProcess.MODEL_ID);
            try (Sse stream = Sse.open(function.uri("/v1/completions"), endless, Duration.ofSeconds(120))) {
                assertThat(stream.next()).contains("text_completion");

                function.terminate();
                String last = stream.drain();
                int exit = function.awaitExit(Duration.ofSeconds(120));

                assertThat(last).contains("\"code\":\"shutting_down\"");
                assertThat(exit).isEqualTo(143);
                assertThat(function.log()).contains(GRACE_RAN_OUT);
            }
        }
    }

    /**
     * A prompt of ~3,500 tokens takes this machine seconds to evaluate, and llama.cpp does not return between its
     * batches: when the 1 s grace period runs out the request is still inside that call. Its client gets the
     * shutting_down error at once (here a 503, as nothing of the answer was sent), and the process exits.
     */
    @Test
    void a_request_still_evaluating_its_prompt_when_the_grace_period_ends_gets_the_shutting_down_error() throws Exception {
        try (FunctionProcess function = FunctionProcess.start("shutdown-prompt", Map.of("KNLLAMA_SHUTDOWN_GRACE_PERIOD", "1s"))) {
            String longPrompt = """
                    {"model":"%s","prompt":"%s","max_tokens":8}""".formatted(FunctionProcess.MODEL_ID,
                    "The cat sat on the mat and looked at the sea. ".repeat(300));
            CompletableFuture<HttpResponse<String>> answer = HttpClient.newHttpClient().sendAsync(
                    HttpRequest.newBuilder(function.uri("/v1/completions")).timeout(Duration.ofSeconds(120))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(longPrompt)).build(),
                    HttpResponse.BodyHandlers.ofString());
            FunctionProcess.sleep(1500); // admitted, and evaluating the prompt

            function.terminate();
            int exit = function.awaitExit(Duration.ofSeconds(60));

            assertThat(answer.get().statusCode()).isEqualTo(503);
            assertThat(answer.get().body()).contains("\"code\":\"shutting_down\"");
            assertThat(exit).isEqualTo(143);
            // It told the client and exited without waiting for llama.cpp to finish the prompt (seconds more here):
            // before, the exit's hooks waited for the slot to come back and only then answered.
            assertThat(function.log()).contains(GRACE_RAN_OUT).doesNotContain("All generations finished");
        }
    }

    /** A request sent once SIGTERM has had a moment to arrive; a chat request for POST paths, a GET otherwise. */
    private static HttpResponse<String> newRequest(FunctionProcess function, String path) {
        FunctionProcess.sleep(300);
        HttpRequest.Builder request = HttpRequest.newBuilder(function.uri(path)).timeout(Duration.ofSeconds(10));
        if (path.startsWith("/v1/")) {
            request.header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(Sse.chat("hi", 4).replace("\"stream\":true", "\"stream\":false")));
        }
        try {
            return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError("the port closed while draining: " + e, e);
        }
    }
}
