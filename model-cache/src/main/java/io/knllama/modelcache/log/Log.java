package io.knllama.modelcache.log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The init container's log: plain text, one event per line ({@code 2026-01-02T03:04:05.678Z INFO ...}),
 * because operators read it with {@code kubectl logs -c model-cache} and grep it. Thread-safe as long
 * as the sinks are.
 */
public final class Log {

    /** Kubernetes shows this file's content as the container's termination message in {@code kubectl describe pod}. */
    private static final Path TERMINATION_LOG = Path.of("/dev/termination-log");

    private final Consumer<String> out;
    private final Consumer<String> err;
    private final Clock clock;
    private final boolean terminationLog;

    private Log(Consumer<String> out, Consumer<String> err, Clock clock, boolean terminationLog) {
        this.out = Objects.requireNonNull(out);
        this.err = Objects.requireNonNull(err);
        this.clock = Objects.requireNonNull(clock);
        this.terminationLog = terminationLog;
    }

    /** Information and warnings to standard output, errors to standard error and the pod's termination message. */
    public static Log standard() {
        return new Log(System.out::println, System.err::println, Clock.systemUTC(), true);
    }

    /** Every line to one sink, with the given clock. */
    public static Log to(Consumer<String> sink, Clock clock) {
        return new Log(sink, sink, clock, false);
    }

    public void info(String message) {
        out.accept(line("INFO ", message));
    }

    public void warn(String message) {
        out.accept(line("WARN ", message));
    }

    /** The final, fatal message: the one paragraph that tells the operator what to do. */
    public void error(String message) {
        err.accept(line("ERROR", message));
        if (terminationLog && Files.isRegularFile(TERMINATION_LOG)) {
            try {
                Files.writeString(TERMINATION_LOG, message);
            } catch (IOException | SecurityException ignored) {
                // The log line above already carries the message.
            }
        }
    }

    private String line(String level, String message) {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS) + " " + level + " " + message;
    }
}
