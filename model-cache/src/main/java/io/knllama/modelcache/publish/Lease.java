package io.knllama.modelcache.publish;

import io.knllama.modelcache.log.Log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A held {@link VolumeLock}. A daemon thread rewrites the lock file every {@code heartbeat}; before each
 * rewrite it checks the file still holds what it last wrote, and if not (a waiter judged this process
 * dead and took over) it stops and {@link #held()} turns false. Closing it, or the JVM shutting down on
 * SIGTERM, deletes the lock file if it is still this lease's, so waiters need not wait out staleness.
 */
public final class Lease implements AutoCloseable {

    private final Path path;
    private final String owner;
    private final Instant acquired;
    private final Log log;
    private final Clock clock;
    private final ScheduledExecutorService heartbeats;
    private final Thread shutdownHook;
    private String written;
    private long beats;
    private boolean held = true;

    Lease(Path path, String owner, Instant acquired, String content, Duration heartbeat, Log log, Clock clock) {
        this.path = path;
        this.owner = owner;
        this.acquired = acquired;
        this.written = content;
        this.log = log;
        this.clock = clock;
        this.heartbeats = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "model-cache-lock-heartbeat");
            thread.setDaemon(true);
            return thread;
        });
        long period = Math.max(heartbeat.toMillis(), 10);
        heartbeats.scheduleAtFixedRate(this::beat, period, period, TimeUnit.MILLISECONDS);
        this.shutdownHook = new Thread(this::release, "model-cache-lock-release");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    static String content(String owner, Instant acquired, long beat, Instant now) {
        return "owner=%s%nacquired=%s%nheartbeat=%d %s%n".formatted(owner, acquired, beat, now);
    }

    /** Whether the lock is still this process's; false once another process took it over. */
    public synchronized boolean held() {
        return held;
    }

    private synchronized void beat() {
        if (!held) {
            return;
        }
        try {
            String current = VolumeLock.read(path).orElse(null);
            if (!written.equals(current)) {
                held = false;
                log.warn("lost the lock %s: another process judged this one dead and took it over; carrying on, "
                        .formatted(path) + "since the download is verified and published atomically either way");
                heartbeats.shutdown();
                return;
            }
            String next = content(owner, acquired, ++beats, clock.instant());
            Files.writeString(path, next, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            written = next;
        } catch (IOException e) {
            // A hiccup of the volume: the next beat tries again, and waiters allow for several missed ones.
            log.warn("cannot renew the lock %s: %s".formatted(path, e));
        }
    }

    private synchronized void release() {
        heartbeats.shutdownNow();
        if (!held) {
            return;
        }
        held = false;
        try {
            if (written.equals(VolumeLock.read(path).orElse(null))) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            log.warn("cannot remove the lock %s (%s): others will take it over once it is stale".formatted(path, e));
        }
    }

    /** Releases the lock. */
    @Override
    public void close() {
        release();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // The hook is running or has run; it releases the same way.
        }
    }
}
