package io.knllama.lifecycle;

import io.knllama.inference.LlamaEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What SIGTERM does (Kubernetes sends it when Knative scales a pod down): the server keeps its port open while it
 * drains, so new requests get a 503 {@code shutting_down} with Retry-After (retry elsewhere) instead of a refused
 * connection, and readiness reports DOWN; running generations finish within the grace period; those still running
 * then end with the {@code shutting_down} error as their stream's last event; then the process exits (status 143,
 * as for SIGTERM) and the context closes.
 *
 * <p>The JVM's own SIGTERM handling would start every shutdown hook at once, and Micronaut's closes the listening
 * socket first; hence this handler, installed by {@link io.knllama.Application} in a real process (tests that
 * start a context in-process keep the default).
 */
public final class Termination {

    private static final Logger LOG = LoggerFactory.getLogger(Termination.class);
    private static final int SIGTERM_STATUS = 143;
    /** Time for the error events of cut streams to reach their clients before the sockets close. */
    private static final Duration FLUSH = Duration.ofMillis(500);

    private final LlamaEngine engine;
    private final Duration gracePeriod;
    private final AtomicBoolean started = new AtomicBoolean();

    private Termination(LlamaEngine engine, Duration gracePeriod) {
        this.engine = engine;
        this.gracePeriod = gracePeriod;
    }

    public static void install(LlamaEngine engine, Duration gracePeriod) {
        Termination termination = new Termination(engine, gracePeriod);
        Signal.handle(new Signal("TERM"), signal -> {
            if (termination.started.compareAndSet(false, true)) {
                Thread.ofPlatform().name("sigterm-drain").start(termination::drainThenExit);
            }
        });
    }

    private void drainThenExit() {
        LOG.info("SIGTERM: draining for up to {} s", gracePeriod.toSeconds());
        try {
            engine.shutdownGracefully().toCompletableFuture().get(gracePeriod.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException ranOut) {
            engine.cutRunning(gracePeriod);
            sleep(FLUSH);
            // Not System.exit: its hooks would close the model while a slot's thread may still be inside llama.cpp
            // (a long prompt does not stop between tokens), and wait for the drain once more. Every client has
            // its error by now; the operating system frees the rest.
            Runtime.getRuntime().halt(SIGTERM_STATUS);
        } catch (Exception e) {
            LOG.warn("Draining failed: {}", e.toString());
        }
        System.exit(SIGTERM_STATUS);
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
