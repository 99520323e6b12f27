package io.knllama.modelcache.log;

import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress lines for a long transfer ({@code downloading x.gguf: 42% 101.2 of 240.0 MB, 85.3 MB/s, ETA 1m 38s}),
 * at a rate a person can read in {@code kubectl logs}: when another tenth is done (but not twice within
 * {@link #MIN_SPACING}), or after {@link #MAX_SPACING} without a line. MB are 10^6 bytes. Not thread-safe:
 * one transfer, one thread.
 */
public final class Progress {

    static final Duration MIN_SPACING = Duration.ofSeconds(2);
    static final Duration MAX_SPACING = Duration.ofSeconds(5);
    private static final double MB = 1_000_000d;

    private final Log log;
    private final String label;
    private final long total;
    private final LongSupplier nanoTime;
    private final long startNanos;
    private final long startBytes;
    private long lastNanos;
    private long lastBytes;
    private long lastTenth;

    private Progress(Log log, String label, long done, long total, LongSupplier nanoTime) {
        this.log = log;
        this.label = label;
        this.total = total;
        this.nanoTime = nanoTime;
        this.startNanos = nanoTime.getAsLong();
        this.startBytes = done;
        this.lastNanos = startNanos;
        this.lastBytes = done;
        this.lastTenth = tenth(done);
    }

    /**
     * Starts reporting a transfer.
     *
     * @param done  bytes already there (a resumed download), counted in the percentage but not in the rate
     * @param total expected bytes, or a negative number when unknown
     */
    public static Progress start(Log log, String label, long done, long total, LongSupplier nanoTime) {
        return new Progress(log, label, done, total, nanoTime);
    }

    /** Records that {@code done} bytes are now there, logging a line if one is due. Cheap when none is. */
    public void update(long done) {
        long now = nanoTime.getAsLong();
        long since = now - lastNanos;
        boolean nextTenth = tenth(done) > lastTenth && since >= MIN_SPACING.toNanos();
        if (nextTenth || since >= MAX_SPACING.toNanos()) {
            log.info(label + ": " + describe(done, now));
            lastNanos = now;
            lastBytes = done;
            lastTenth = tenth(done);
        }
    }

    /** Logs the closing line: size, time and average rate. */
    public void finish(long done, String verb) {
        long elapsed = nanoTime.getAsLong() - startNanos;
        log.info("%s: %s %s in %s (%s)".formatted(label, verb, megabytes(done),
                seconds(elapsed), rate(done - startBytes, elapsed)));
    }

    private String describe(long done, long now) {
        String rate = rate(done - lastBytes, now - lastNanos);
        if (total <= 0) {
            return megabytes(done) + ", " + rate;
        }
        double bytesPerNano = (double) (done - lastBytes) / Math.max(1, now - lastNanos);
        String eta = bytesPerNano > 0 ? duration((long) ((total - done) / bytesPerNano)) : "unknown";
        return String.format(Locale.ROOT, "%d%% %.1f of %s, %s, ETA %s",
                done * 100 / total, done / MB, megabytes(total), rate, eta);
    }

    private long tenth(long done) {
        return total > 0 ? done * 10 / total : -1;
    }

    /** Bytes as decimal megabytes, e.g. {@code 240.5 MB}. */
    public static String megabytes(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / MB);
    }

    private static String rate(long bytes, long nanos) {
        return String.format(Locale.ROOT, "%.1f MB/s", nanos <= 0 ? 0 : bytes / MB / (nanos / 1e9));
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }

    static String duration(long nanos) {
        long s = Math.round(nanos / 1e9);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return "%dm %02ds".formatted(s / 60, s % 60);
        }
        return "%dh %02dm".formatted(s / 3600, s % 3600 / 60);
    }
}
