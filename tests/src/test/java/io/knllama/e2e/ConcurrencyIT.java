package io.knllama.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** Two slots, a short queue, more streams than both can hold. */
class ConcurrencyIT {

    private static FunctionProcess function;

    @BeforeAll
    static void start() {
        function = FunctionProcess.start("concurrency", Map.of(
                "KNLLAMA_ENGINE_SLOTS", "2",
                "KNLLAMA_ENGINE_QUEUE_CAPACITY", "2",
                // Longer than any generation here, even on a busy machine: the two queued requests run, not time out.
                "KNLLAMA_ENGINE_MAX_QUEUE_WAIT", "150s"));
    }

    @AfterAll
    static void stop() {
        function.close();
    }

    private record Outcome(int status, String last, String retryAfter) {
    }

    @Test
    void eight_concurrent_streams_each_complete_or_are_shed_with_503_and_retry_after_and_none_hangs() throws Exception {
        function.awaitIdle();
        List<Future<Outcome>> futures = new ArrayList<>();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 8; i++) {
                futures.add(clients.submit(() -> {
                    try (Sse stream = Sse.open(function.uri("/v1/chat/completions"), Sse.chat("Count from one to twenty.", 48),
                            Duration.ofSeconds(170))) {
                        String last = stream.drain();
                        return new Outcome(stream.status(), last, stream.header("Retry-After"));
                    }
                }));
            }
            clients.shutdown();
            assertThat(clients.awaitTermination(240, TimeUnit.SECONDS)).as("no request may hang").isTrue();
        }

        int completed = 0;
        int shed = 0;
        for (Future<Outcome> future : futures) {
            Outcome outcome = future.get();
            if (outcome.status() == 200) {
                assertThat(outcome.last()).isEqualTo("[DONE]");
                completed++;
            } else {
                assertThat(outcome.status()).isEqualTo(503);
                assertThat(outcome.retryAfter()).matches("[1-9][0-9]*");
                assertThat(outcome.last()).contains("\"code\":\"overloaded\"");
                shed++;
            }
        }
        assertThat(completed + shed).isEqualTo(8);
        // 2 run, 2 wait and then run; with 8 arriving together the other 4 are shed
        assertThat(completed).isGreaterThanOrEqualTo(4);
        assertThat(shed).isGreaterThanOrEqualTo(1);
    }
}
