package io.knllama.modelcache.download;

import java.time.Duration;

/** Waits between attempts; tests substitute one that records the waits. */
@FunctionalInterface
public interface Sleeper {

    void sleep(Duration duration) throws InterruptedException;

    static Sleeper real() {
        return duration -> Thread.sleep(duration);
    }
}
