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
 * loaded, shutting down, queue full), wait a bounded time for a slot, then prepare and run the request on that
 * slot's thread (never Netty's) and release the slot when it returns. Every request that does not reach its work
 * is counted by outcome here; work that does reports its own end.
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
        private volatile boolean cut;
        private volatile Runnable onCut = () -> { };
        private volatile CompletableFuture<SlotScheduler.Lease> pending;

        /** The caller lost interest: leave the queue, or (once running) let the work see it at its next step. */
        void cancel() {
            cancelled = true;
            CompletableFuture<SlotScheduler.Lease> lease = pending;
            if (lease != null) {
                lease.cancel(false);
            }
        }

        /**
         * The server is going away: stop at the next step and tell the caller why, at once (through
         * {@link #whenCut}): the running work may be inside a native call that does not return for seconds.
         */
        void cut() {
            cut = true;
            cancel();
            onCut.run();
        }

        /** What tells this request's caller that the server cut it; set once its answer has started. */
        void whenCut(Runnable action) {
            onCut = action;
            if (cut) {
                action.run();
            }
        }

        boolean cancelled() {
            return cancelled;
        }

        /** Whether the stop came from the server, not from the caller. */
        boolean cutByServer() {
            return cut;
        }
    }

    private final ModelHost host;
    private final SlotScheduler scheduler;
    private final InferenceMetrics metrics;
    private final ScheduledExecutorService timer;
    private final ExecutorService slotExecutor;
    private final Set<Ticket> running = ConcurrentHashMap.newKeySet();

    Admission(ModelHost host, EngineProperties properties, InferenceMetrics metrics) {
        this.host = host;
        this.metrics = metrics;
        int slots = properties.effectiveSlots();
        this.timer = Executors.newSingleThreadScheduledExecutor(daemon("llama-timer"));
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
     * Admits a request: it waits (bounded) for a slot; then, on the slot's thread, {@code prepare} renders and
     * measures it (it may throw an {@link ApiException}, for a prompt too long, say) and {@code work} runs it.
     * Preparing inside the slot keeps that work admitted and counted: tokenizing a long prompt costs seconds,
     * and outside the slots it queued unbounded and unseen. {@code refused} receives the error of a request that
     * does not get as far as its work, unless its caller cancelled it.
     */
    <P> Ticket start(Function<ModelHost.Loaded, P> prepare, SlotWork<P> work, Consumer<ApiException> refused) {
        Ticket ticket = new Ticket();
        Optional<ApiException> refusal = refusalNow();
        if (refusal.isPresent()) {
            refused(refusal.get(), refused);
            return ticket;
        }
        long queuedAt = System.nanoTime();
        CompletableFuture<SlotScheduler.Lease> lease = scheduler.acquire();
        ticket.pending = lease;
        if (ticket.cancelled()) {
            lease.cancel(false);
        }
        lease.whenComplete((granted, failure) -> {
            if (failure != null) {
                failed(failure, refused);
            } else if (ticket.cancelled()) {
                granted.release();
                metrics.outcome(Outcome.CANCELLED);
            } else {
                run(ticket, granted, System.nanoTime() - queuedAt, prepare, work, refused);
            }
        });
        return ticket;
    }

    private <P> void run(Ticket ticket, SlotScheduler.Lease lease, long queuedNanos, Function<ModelHost.Loaded, P> prepare,
                         SlotWork<P> work, Consumer<ApiException> refused) {
        metrics.queued(queuedNanos);
        try {
            slotExecutor.execute(() -> {
                running.add(ticket);
                try {
                    long start = System.nanoTime();
                    P prepared;
                    try {
                        prepared = prepare.apply(host.require());
                    } catch (RuntimeException e) {
                        failed(e, refused);
                        return;
                    } finally {
                        metrics.prepared(System.nanoTime() - start);
                    }
                    if (ticket.cutByServer()) {
                        refused(SlotScheduler.shuttingDown(), refused);
                        return;
                    }
                    if (ticket.cancelled()) {
                        metrics.outcome(Outcome.CANCELLED);
                        return;
                    }
                    work.run(prepared, queuedNanos, ticket);
                } finally {
                    running.remove(ticket);
                    lease.release();
                }
            });
        } catch (RejectedExecutionException shutDown) {
            lease.release();
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

    /** Ends what runs, telling each caller the server went away; returns how many there were. */
    int cutRunning() {
        int count = running.size();
        running.forEach(Ticket::cut);
        return count;
    }

    /** Cancels what runs (each stops at its next step), waits a little for the slots, and stops the threads. */
    void close() throws InterruptedException {
        running.forEach(Ticket::cancel);
        drain().completeOnTimeout(null, 5, TimeUnit.SECONDS).join();
        slotExecutor.shutdown();
        timer.shutdownNow();
        slotExecutor.awaitTermination(5, TimeUnit.SECONDS);
    }

    private static ThreadFactory daemon(String name) {
        return Thread.ofPlatform().name(name + "-", 0).daemon().factory();
    }
}
