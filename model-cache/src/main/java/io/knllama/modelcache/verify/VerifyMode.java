package io.knllama.modelcache.verify;

import java.util.Locale;

/** How much a model already on the volume is trusted. */
public enum VerifyMode {
    /** Trust it if its manifest matches: same digest (or source), same size and modification time. Milliseconds. */
    MANIFEST,
    /** Re-hash it and re-check its structure: seconds per gigabyte, for a volume others can write to. */
    FULL;

    /** @throws IllegalArgumentException unless the text is {@code manifest} or {@code full}, in any case */
    public static VerifyMode parse(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "manifest" -> MANIFEST;
            case "full" -> FULL;
            default -> throw new IllegalArgumentException("'" + text + "' is neither 'manifest' nor 'full'");
        };
    }
}
