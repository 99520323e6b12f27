package io.knllama.gguf.record;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/** For tests that change a file after its state was recorded. */
public final class ChangeTimes {

    private ChangeTimes() {
    }

    /**
     * Waits until a file written in {@code dir} now gets a change time after {@code changed}. File systems
     * keep coarse timestamps (a few milliseconds on Linux), so a write within the same tick as a recorded
     * state would not show in the change time: a test that means to change a file waits for the next tick.
     */
    public static void awaitTickAfter(Path dir, Instant changed) throws IOException, InterruptedException {
        Path probe = Files.createTempFile(dir, ".tick", ".probe");
        try {
            while (!FileIdentity.of(probe).changed().isAfter(changed)) {
                Thread.sleep(1);
                Files.writeString(probe, "x");
            }
        } finally {
            Files.deleteIfExists(probe);
        }
    }
}
