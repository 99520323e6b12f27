package io.knllama.inference;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.inference.InferenceMetrics.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The one way into a slot, for generations and embeddings alike: refuse at once what cannot be served (model not
 * loaded, shutting down, queue full), prepare the request on the engine's own threads (never Netty's), wait a
 * bounded time for a slot, then run the work on a slot thread and release the slot when it returns. Every
 * request that does not reach its slot is counted by outcome here; work that does reports its own end.
 */
final class Admission {

    private static final Logger LOG = LoggerFactory.getLogger(Admission.class);

    /**
     * Work that holds a slot; it runs on a slot thread and the slot is released when it returns. It checks its
     * ticket between steps to stop when its caller cancels.
     */
    interface SlotWork<P> {
        void run(P prepared, long queuedNanos, Ticket ticket);
    }

    /** A request on its way to a slot. */
    static final class Ticket {
        private volatile boolean cancelled;
        private volatile CompletableFuture<SlotScheduler.Lease> pending;

        /** The caller lost interest: leave the queue, or (once running) let the work see it at its next step. */
        void cancel() {
            cancelled = true;
            CompletableFuture<SlotScheduler.Lease> lease = pending;
            if (lease != null) {
                lease.cancel(false);
            }
        }

        boolean cancelled() {
            return cancelled;
        }
    }

    private final ModelHost host;
    private final SlotScheduler scheduler;
    private final InferenceMetrics metrics;
    private final ScheduledExecutorService timer;
    private final ExecutorService prepareExecutor;
    private final ExecutorService slotExecutor;
    private final Set<Ticket> running = ConcurrentHashMap.newKeySet();

    Admission(ModelHost host, EngineProperties properties, InferenceMetrics metrics) {
        this.host = host;
        this.metrics = metrics;
        int slots = properties.effectiveSlots();
        this.timer = Executors.newSingleThreadScheduledExecutor(daemon("llama-timer"));
        this.prepareExecutor = Executors.newFixedThreadPool(Math.max(2, properties.effectiveThreads()), daemon("llama-prepare"));
        this.slotExecutor = Executors.newFixedThreadPool(slots, daemon("llama-slot"));
        this.scheduler = new SlotScheduler(slots, properties.effectiveQueueCapacity(), properties.maxQueueWait(), timer);
        var registry = metrics.registry();
        registry.gauge("knllama.slots", scheduler, SlotScheduler::slots);
        registry.gauge("knllama.slots.busy", scheduler, SlotScheduler::busy);
        registry.gauge("knllama.queue.depth", scheduler, SlotScheduler::waiting);
    }

    int slots() {
        return scheduler.slots();
    }

    int busy() {
        return scheduler.busy();
    }

    /** Why a request arriving now would be refused before any work is done for it. */
    Optional<ApiException> refusalNow() {
        Optional<ApiError> unavailable = host.unavailable();
        return unavailable.isPresent() ? unavailable.map(ApiException::new) : scheduler.refusalNow();
    }

    /**
     * Admits a request: {@code prepare} runs on a prepare thread (it may throw an {@link ApiException}), then the
     * request waits for a slot, then {@code work} runs in it. {@code refused} receives the error of a request that
     * does not get that far, unless its caller cancelled it.
     */
    <P> Ticket start(Function<ModelHost.Loaded, P> prepare, SlotWork<P> work, Consumer<ApiException> refused) {
        Ticket ticket = new Ticket();
        Optional<ApiException> refusal = refusalNow();
        if (refusal.isPresent()) {
            refused(refusal.get(), refused);
            return ticket;
        }
        CompletableFuture.supplyAsync(() -> prepare.apply(host.require()), prepareExecutor)
                .thenCompose(prepared -> queue(ticket, prepared))
                .whenComplete((admitted, failure) -> {
                    if (failure != null) {
                        failed(failure, refused);
                    } else if (ticket.cancelled()) {
                        admitted.lease().release();
                        metrics.outcome(Outcome.CANCELLED);
                    } else {
                        run(ticket, admitted, work, refused);
                    }
                });
        return ticket;
    }

    private record Admitted<P>(P prepared, SlotScheduler.Lease lease, long queuedNanos) {
    }

    private <P> CompletionStage<Admitted<P>> queue(Ticket ticket, P prepared) {
        if (ticket.cancelled()) {
            return CompletableFuture.failedFuture(new CancellationException());
        }
        long queuedAt = System.nanoTime();
        CompletableFuture<SlotScheduler.Lease> lease = scheduler.acquire();
        ticket.pending = lease;
        if (ticket.cancelled()) {
            lease.cancel(false);
        }
        return lease.thenApply(granted -> new Admitted<>(prepared, granted, System.nanoTime() - queuedAt));
    }

    private <P> void run(Ticket ticket, Admitted<P> admitted, SlotWork<P> work, Consumer<ApiException> refused) {
        metrics.queued(admitted.queuedNanos());
        try {
            slotExecutor.execute(() -> {
                running.add(ticket);
                try {
                    work.run(admitted.prepared(), admitted.queuedNanos(), ticket);
                } finally {
                    running.remove(ticket);
                    admitted.lease().release();
                }
            });
        } catch (RejectedExecutionException shutDown) {
            admitted.lease().release();
            refused(SlotScheduler.shuttingDown(), refused);
        }
    }

    private void failed(Throwable failure, Consumer<ApiException> refused) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        if (cause instanceof CancellationException) {
            metrics.outcome(Outcome.CANCELLED);
        } else if (cause instanceof ApiException api) {
            refused(api, refused);
        } else {
            LOG.error("Preparing a request failed", cause);
            metrics.outcome(Outcome.ERROR);
            refused.accept(new ApiException(new ApiError.EngineFailure("The engine failed to prepare the request.")));
        }
    }

    private void refused(ApiException error, Consumer<ApiException> refused) {
        metrics.outcome(switch (error.error()) {
            case ApiError.Overloaded o -> Outcome.OVERLOADED;
            case ApiError.Unavailable u -> Outcome.UNAVAILABLE;
            case ApiError.EngineFailure f -> Outcome.ERROR;
            default -> Outcome.INVALID;
        });
        refused.accept(error);
    }

    /** Stops admitting; completes when no slot is held any more. */
    CompletableFuture<Void> drain() {
        return scheduler.drain();
    }

    /** Cancels what runs (each stops at its next step), waits a little for the slots, and stops the threads. */
    void close() throws InterruptedException {
        running.forEach(Ticket::cancel);
        drain().completeOnTimeout(null, 5, TimeUnit.SECONDS).join();
        slotExecutor.shutdown();
        prepareExecutor.shutdown();
        timer.shutdownNow();
        slotExecutor.awaitTermination(5, TimeUnit.SECONDS);
    }

    private static ThreadFactory daemon(String name) {
        return Thread.ofPlatform().name(name + "-", 0).daemon().factory();
    }
}
