package io.knllama.inference;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Admission control in front of the native slots: at most {@code slots} generations hold a slot, at most
 * {@code capacity} wait for one, in arrival order, each for at most {@code maxWait}. Everything beyond is
 * refused at once with {@link ApiError.Overloaded}, because llama.cpp's own queue is unbounded and a request
 * parked there forever helps nobody.
 *
 * <p>Nothing blocks: {@link #acquire()} returns a future. Callers that lose interest cancel it, which
 * removes them from the queue.
 */
final class SlotScheduler {

    private static final Duration MIN_RETRY_AFTER = Duration.ofSeconds(1);
    private static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(60);

    private final int slots;
    private final int capacity;
    private final Duration maxWait;
    private final ScheduledExecutorService timer;
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<Waiter> queue = new ArrayDeque<>();
    private final CompletableFuture<Void> drained = new CompletableFuture<>();
    private int busy;
    private boolean draining;
    /** Moving average of how long a slot is held, for Retry-After. */
    private double averageHoldNanos = Duration.ofSeconds(2).toNanos();

    SlotScheduler(int slots, int capacity, Duration maxWait, ScheduledExecutorService timer) {
        this.slots = slots;
        this.capacity = capacity;
        this.maxWait = maxWait;
        this.timer = timer;
    }

    /** A held slot. Release it exactly once; later calls do nothing. */
    final class Lease {
        private final long grantedAt = System.nanoTime();
        private final AtomicBoolean released = new AtomicBoolean();

        void release() {
            if (released.compareAndSet(false, true)) {
                SlotScheduler.this.release(System.nanoTime() - grantedAt);
            }
        }
    }

    private final class Waiter {
        final CompletableFuture<Lease> future = new CompletableFuture<>();
        ScheduledFuture<?> timeout;
    }

    CompletableFuture<Lease> acquire() {
        Waiter waiter;
        lock.lock();
        try {
            ApiException refusal = refusalLocked();
            if (refusal != null) {
                return CompletableFuture.failedFuture(refusal);
            }
            if (busy < slots) {
                busy++;
                return CompletableFuture.completedFuture(new Lease());
            }
            waiter = new Waiter();
            queue.addLast(waiter);
            waiter.timeout = timer.schedule(() -> expire(waiter), maxWait.toNanos(), TimeUnit.NANOSECONDS);
        } finally {
            lock.unlock();
        }
        // A caller that cancels (its client went away) leaves the queue.
        waiter.future.whenComplete((lease, failure) -> {
            if (waiter.future.isCancelled()) {
                waiter.timeout.cancel(false);
                remove(waiter);
            }
        });
        return waiter.future;
    }

    private void expire(Waiter waiter) {
        Duration retryAfter;
        lock.lock();
        try {
            if (!queue.remove(waiter)) {
                return;
            }
            retryAfter = retryAfterLocked();
        } finally {
            lock.unlock();
        }
        waiter.future.completeExceptionally(new ApiException(new ApiError.Overloaded(
                "No slot became free within %d ms; try again shortly.".formatted(maxWait.toMillis()), retryAfter)));
    }

    private void remove(Waiter waiter) {
        lock.lock();
        try {
            queue.remove(waiter);
        } finally {
            lock.unlock();
        }
    }

    private void release(long heldNanos) {
        lock.lock();
        try {
            averageHoldNanos = 0.8 * averageHoldNanos + 0.2 * heldNanos;
        } finally {
            lock.unlock();
        }
        handOff();
    }

    /** Passes a freed slot straight to the first waiter still interested, or returns it to the pool. */
    private void handOff() {
        while (true) {
            Waiter next;
            lock.lock();
            try {
                next = queue.pollFirst();
                if (next == null) {
                    busy--;
                    if (draining && busy == 0) {
                        drained.complete(null);
                    }
                    return;
                }
            } finally {
                lock.unlock();
            }
            next.timeout.cancel(false);
            if (next.future.complete(new Lease())) {
                return;
            }
        }
    }

    /**
     * Stops admitting: waiting requests fail with {@link ApiError.Unavailable}, and so do new ones.
     *
     * @return completes when no slot is held any more
     */
    CompletableFuture<Void> drain() {
        ArrayDeque<Waiter> refused;
        lock.lock();
        try {
            draining = true;
            refused = new ArrayDeque<>(queue);
            queue.clear();
            if (busy == 0) {
                drained.complete(null);
            }
        } finally {
            lock.unlock();
        }
        refused.forEach(w -> {
            w.timeout.cancel(false);
            w.future.completeExceptionally(shuttingDown());
        });
        return drained;
    }

    int slots() {
        return slots;
    }

    /**
     * The error a request arriving now would get at once, if any. Callers check it before tokenizing, so a
     * shed request costs microseconds rather than a trip through the prepare pool.
     */
    Optional<ApiException> refusalNow() {
        lock.lock();
        try {
            return Optional.ofNullable(refusalLocked());
        } finally {
            lock.unlock();
        }
    }

    private ApiException refusalLocked() {
        if (draining) {
            return shuttingDown();
        }
        if (busy >= slots && queue.size() >= capacity) {
            return new ApiException(new ApiError.Overloaded(
                    "All %d slots are busy and %d requests are already waiting; try again shortly."
                            .formatted(slots, queue.size()), retryAfterLocked()));
        }
        return null;
    }

    int busy() {
        lock.lock();
        try {
            return busy;
        } finally {
            lock.unlock();
        }
    }

    int waiting() {
        lock.lock();
        try {
            return queue.size();
        } finally {
            lock.unlock();
        }
    }

    /** Roughly when a slot will be free for one more request: the queue ahead of it, spread over the slots. */
    private Duration retryAfterLocked() {
        long nanos = (long) (averageHoldNanos * (queue.size() + 1) / slots);
        Duration estimate = Duration.ofNanos(nanos);
        return estimate.compareTo(MIN_RETRY_AFTER) < 0 ? MIN_RETRY_AFTER
                : estimate.compareTo(MAX_RETRY_AFTER) > 0 ? MAX_RETRY_AFTER : estimate;
    }

    static ApiException shuttingDown() {
        return new ApiException(new ApiError.Unavailable(
                "The server is shutting down and takes no new requests; retry, another instance will answer.",
                Duration.ofSeconds(1), ApiError.Unavailable.Reason.SHUTTING_DOWN));
    }
}
