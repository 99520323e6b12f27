package io.knllama.modelcache.publish;

import io.knllama.modelcache.log.Log;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;

/**
 * The lock that lets one of several init containers sharing a volume download the model while the
 * others wait: a lock file created with {@code CREATE_NEW}, whose content its owner rewrites on every
 * heartbeat.
 *
 * <p>Why this and not {@link java.nio.channels.FileChannel#lock}: on a ReadWriteMany volume the pods run
 * on different nodes, and POSIX locks over NFS depend on NLM (v3) or lease state (v4) that some
 * provisioners do not provide or that silently stay local to one client; a lock held by a node that
 * died lingers until the server's grace period ends. An exclusive create is atomic on local file systems
 * and on NFSv3 and later, and a heartbeat makes a dead owner visible.
 *
 * <p>Staleness is judged by the waiter's own monotonic clock: the lock is stale once its content has
 * not changed for {@code staleAfter}, so the nodes' clocks never have to agree. Each check opens the file
 * anew, and NFS's close-to-open consistency then returns what the owner last wrote, not a cached copy.
 * A stale lock is taken over by renaming it to a name private to the taker (only one rename can
 * succeed) and checking that what was renamed is what was judged stale.
 *
 * <p>The lock saves downloads; it is not what keeps the model sound. Every writer writes its own
 * temporary file and publishes it by an atomic rename only after verifying it, so even two owners at
 * once (one paused past {@code staleAfter}, then resumed) publish a verified file.
 */
public final class VolumeLock {

    private final Path path;
    private final Duration staleAfter;
    private final Log log;
    private final LongSupplier nanoTime;
    private final Clock clock;
    private final String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    private final String owner = "%s pid %d (%s)".formatted(hostName(), ProcessHandle.current().pid(), id);
    private String observed;
    private long observedSince;

    public VolumeLock(Path path, Duration staleAfter, Log log, LongSupplier nanoTime, Clock clock) {
        if (staleAfter.isNegative() || staleAfter.isZero()) {
            throw new IllegalArgumentException("staleAfter must be positive");
        }
        this.path = path;
        this.staleAfter = staleAfter;
        this.log = log;
        this.nanoTime = nanoTime;
        this.clock = clock;
    }

    /** A short random id of this process, also used to name its private files. */
    public String id() {
        return id;
    }

    /**
     * One attempt to take the lock: it is created if absent, taken over if stale, and left alone otherwise.
     * Call it repeatedly while waiting: staleness is measured between calls.
     *
     * @return the lease, or empty if another process holds the lock and has renewed it within {@code staleAfter}
     */
    public Optional<Lease> tryAcquire() throws IOException {
        Optional<Lease> created = create();
        if (created.isPresent()) {
            return created;
        }
        Optional<String> content = read(path);
        if (content.isEmpty()) {
            return create(); // released between the two calls
        }
        long now = nanoTime.getAsLong();
        if (!content.get().equals(observed)) {
            observed = content.get();
            observedSince = now;
            return Optional.empty();
        }
        if (now - observedSince < staleAfter.toNanos()) {
            return Optional.empty();
        }
        log.warn("the lock %s held by %s has not been renewed for %d s: its owner is gone; taking it over"
                .formatted(path, holder().orElse("an unknown process"), Duration.ofNanos(now - observedSince).toSeconds()));
        observed = null;
        return takeOver(content.get()) ? create() : Optional.empty();
    }

    /** Who holds the lock, as the lock file last said. */
    public Optional<String> holder() {
        if (observed == null) {
            return Optional.empty();
        }
        return observed.lines().filter(line -> line.startsWith("owner=")).map(line -> line.substring(6)).findFirst();
    }

    private Optional<Lease> create() throws IOException {
        Instant now = clock.instant();
        String content = Lease.content(owner, now, 0, now);
        try {
            Files.writeString(path, content, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (FileAlreadyExistsException held) {
            return Optional.empty();
        }
        return Optional.of(new Lease(path, owner, now, content, staleAfter.dividedBy(6), log, clock));
    }

    private boolean takeOver(String stale) throws IOException {
        Path tomb = path.resolveSibling(path.getFileName() + ".stale-" + id);
        try {
            Files.move(path, tomb, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException someoneElse) {
            return false;
        }
        if (stale.equals(read(tomb).orElse(null))) {
            Files.deleteIfExists(tomb);
            return true;
        }
        // Another waiter took it over first, and this rename moved the lock it had just created: put it back.
        try {
            Files.move(tomb, path);
        } catch (FileAlreadyExistsException e) {
            Files.deleteIfExists(tomb);
        }
        return false;
    }

    static Optional<String> read(Path file) throws IOException {
        try {
            return Optional.of(Files.readString(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    private static String hostName() {
        String host = System.getenv("HOSTNAME"); // the pod's name in Kubernetes
        if (host != null && !host.isBlank()) {
            return host;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return ManagementFactory.getRuntimeMXBean().getName();
        }
    }
}
