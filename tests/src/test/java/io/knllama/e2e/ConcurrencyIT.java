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

    /**
     * A generation that cannot end on its own (raw completion, end-of-sequence banned, 2000 tokens: over
     * half a minute even on a quiet machine) in each slot; one client disconnects. Its slot must be free
     * long before its generation could have finished. Cancellation takes effect at the generation's
     * next token, so the bound allows for a slow, busy machine.
     */
    @Test
    void a_disconnected_client_frees_its_slot() throws Exception {
        function.awaitIdle();
        String endless = """
                {"model":"%s","prompt":"Once upon a time","max_tokens":2000,"stream":true,"logit_bias":{"1":-100,"106":-100}}"""
                .formatted(FunctionProcess.MODEL_ID);
        try (Sse kept = Sse.open(function.uri("/v1/completions"), endless, Duration.ofSeconds(120))) {
            java.net.Socket dropped = Sse.openRaw(function.uri("/v1/completions"), endless);
            assertThat(kept.next()).contains("text_completion");
            assertThat(function.busySlots()).isEqualTo(2);

            long closed = System.nanoTime();
            dropped.close();

            while (function.busySlots() != 1 && System.nanoTime() - closed < Duration.ofSeconds(20).toNanos()) {
                FunctionProcess.sleep(20);
            }
            assertThat(function.busySlots()).as("the dropped stream's slot is free, the other still generating").isEqualTo(1);
            System.out.printf("slot freed %d ms after the client disconnected%n", (System.nanoTime() - closed) / 1_000_000);
        }
    }
}
