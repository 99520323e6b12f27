package io.knllama.inference;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SlotSchedulerTest {

    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stopTimer() {
        timer.shutdownNow();
    }

    private SlotScheduler scheduler(int slots, int capacity, Duration maxWait) {
        return new SlotScheduler(slots, capacity, maxWait, timer);
    }

    @Test
    void grants_free_slots_at_once_and_queues_beyond_them() {
        SlotScheduler scheduler = scheduler(2, 4, Duration.ofSeconds(10));

        var first = scheduler.acquire();
        var second = scheduler.acquire();
        var third = scheduler.acquire();

        assertThat(first).isCompleted();
        assertThat(second).isCompleted();
        assertThat(third).isNotDone();
        assertThat(scheduler.busy()).isEqualTo(2);
        assertThat(scheduler.waiting()).isEqualTo(1);
    }

    @Test
    void sheds_at_once_with_a_retry_delay_when_the_queue_is_full() {
        SlotScheduler scheduler = scheduler(1, 1, Duration.ofSeconds(10));
        scheduler.acquire();
        scheduler.acquire();

        var shed = scheduler.acquire();

        assertThat(shed).isCompletedExceptionally();
        ApiError error = failure(shed);
        assertThat(error).isInstanceOf(ApiError.Overloaded.class);
        assertThat(error.retryAfter()).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
        assertThat(error.status()).isEqualTo(503);
    }

    @Test
    void tells_before_any_work_whether_a_request_would_be_shed() {
        SlotScheduler scheduler = scheduler(1, 1, Duration.ofSeconds(10));
        assertThat(scheduler.refusalNow()).as("a free slot").isEmpty();
        scheduler.acquire();
        assertThat(scheduler.refusalNow()).as("room in the queue").isEmpty();
        scheduler.acquire();

        assertThat(scheduler.refusalNow()).hasValueSatisfying(refusal ->
                assertThat(refusal.error()).isInstanceOf(ApiError.Overloaded.class));
        scheduler.drain();
        assertThat(scheduler.refusalNow()).hasValueSatisfying(refusal ->
                assertThat(refusal.error()).isInstanceOf(ApiError.Unavailable.class));
    }

    @Test
    void a_released_slot_goes_to_the_longest_waiting_request() throws Exception {
        SlotScheduler scheduler = scheduler(1, 4, Duration.ofSeconds(10));
        var holder = scheduler.acquire().get();
        var early = scheduler.acquire();
        var late = scheduler.acquire();

        holder.release();

        assertThat(early).isCompleted();
        assertThat(late).isNotDone();
        assertThat(scheduler.busy()).isEqualTo(1);
    }

    @Test
    void a_request_that_waits_too_long_is_shed() {
        SlotScheduler scheduler = scheduler(1, 4, Duration.ofMillis(50));
        scheduler.acquire();

        var waiting = scheduler.acquire();

        assertThatThrownBy(() -> waiting.get(5, TimeUnit.SECONDS)).hasCauseInstanceOf(ApiException.class);
        assertThat(failure(waiting)).isInstanceOf(ApiError.Overloaded.class);
        assertThat(scheduler.waiting()).isZero();
    }

    @Test
    void a_cancelled_waiter_leaves_the_queue_and_never_holds_a_slot() throws Exception {
        SlotScheduler scheduler = scheduler(1, 4, Duration.ofSeconds(10));
        var holder = scheduler.acquire().get();
        var gone = scheduler.acquire();
        var next = scheduler.acquire();

        gone.cancel(false);
        assertThat(scheduler.waiting()).isEqualTo(1);
        holder.release();

        assertThat(next).isCompleted();
        assertThat(scheduler.busy()).isEqualTo(1);
    }

    @Test
    void releasing_twice_frees_one_slot_only() throws Exception {
        SlotScheduler scheduler = scheduler(2, 0, Duration.ofSeconds(10));
        var lease = scheduler.acquire().get();
        scheduler.acquire().get();

        lease.release();
        lease.release();

        assertThat(scheduler.busy()).isEqualTo(1);
    }

    @Test
    void draining_refuses_waiting_and_new_requests_and_completes_when_the_last_slot_is_released() throws Exception {
        SlotScheduler scheduler = scheduler(1, 4, Duration.ofSeconds(10));
        var holder = scheduler.acquire().get();
        var waiting = scheduler.acquire();

        CompletableFuture<Void> drained = scheduler.drain();

        assertThat(failure(waiting)).isInstanceOf(ApiError.Unavailable.class);
        assertThat(failure(scheduler.acquire())).isInstanceOf(ApiError.Unavailable.class);
        assertThat(drained).isNotDone();
        holder.release();
        assertThat(drained).isCompleted();
    }

    @Test
    void the_retry_delay_grows_with_the_queue_ahead() {
        SlotScheduler idle = scheduler(1, 0, Duration.ofSeconds(30));
        idle.acquire();
        SlotScheduler crowded = scheduler(1, 8, Duration.ofSeconds(30));
        for (int i = 0; i < 9; i++) {
            crowded.acquire();
        }

        Duration shortWait = failure(idle.acquire()).retryAfter();
        Duration longWait = failure(crowded.acquire()).retryAfter();

        assertThat(longWait).isGreaterThan(shortWait);
    }

    private static ApiError failure(CompletableFuture<?> future) {
        try {
            future.get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return ((ApiException) e.getCause()).error();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("expected a failure");
    }
}
