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
                "KNLLAMA_ENGINE_MAX_QUEUE_WAIT", "60s"));
    }

    @AfterAll
    static void stop() {
        function.close();
    }

    private record Outcome(int status, String last, String retryAfter, long millis) {
    }

    @Test
    void eight_concurrent_streams_each_complete_or_are_shed_with_503_and_retry_after_and_none_hangs() throws Exception {
        function.awaitIdle();
        List<Future<Outcome>> futures = new ArrayList<>();
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 8; i++) {
                futures.add(clients.submit(() -> {
                    long start = System.nanoTime();
                    try (Sse stream = Sse.open(function.uri("/v1/chat/completions"), Sse.chat("Count from one to twenty.", 48),
                            Duration.ofSeconds(120))) {
                        String last = stream.drain();
                        return new Outcome(stream.status(), last, stream.header("Retry-After"), (System.nanoTime() - start) / 1_000_000);
                    }
                }));
            }
            clients.shutdown();
            assertThat(clients.awaitTermination(180, TimeUnit.SECONDS)).as("no request may hang").isTrue();
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
                assertThat(outcome.millis()).as("shedding answers at once").isLessThan(2_000);
                shed++;
            }
        }
        assertThat(completed + shed).isEqualTo(8);
        // 2 run, 2 wait and then run; with 8 arriving together the other 4 are shed
        assertThat(completed).isGreaterThanOrEqualTo(4);
        assertThat(shed).isGreaterThanOrEqualTo(1);
    }

    @Test
    void a_disconnected_client_frees_its_slot() throws Exception {
        function.awaitIdle();
        try (Sse kept = Sse.open(function.uri("/v1/chat/completions"), Sse.chat("Tell a long story.", 2000), Duration.ofSeconds(120));
             Sse dropped = Sse.open(function.uri("/v1/chat/completions"), Sse.chat("Tell a long story.", 2000), Duration.ofSeconds(120))) {
            assertThat(kept.next()).contains("assistant");
            assertThat(dropped.next()).contains("assistant");
            assertThat(function.busySlots()).isEqualTo(2);

            dropped.close();

            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (function.busySlots() != 1 && System.nanoTime() < deadline) {
                FunctionProcess.sleep(50);
            }
            assertThat(function.busySlots()).as("the dropped stream's slot is free, the other still generating").isEqualTo(1);
        }
    }
}
