package io.knllama.inference;

import java.time.Duration;
import java.time.Instant;

/**
 * The served model, as listings describe it.
 *
 * @param id             the id clients send
 * @param created        when this process started serving it
 * @param contextPerSlot tokens of context each request gets (prompt plus completion)
 */
public record ModelInfo(
        String id,
        Instant created,
        String fileName,
        String architecture,
        String name,
        long sizeBytes,
        int contextPerSlot,
        int slots,
        String chatFormat,
        boolean embeddings,
        Duration loadTime) {
}
