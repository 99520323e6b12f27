package io.knllama.gguf;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/** Computes {@link GgufFile#checkerVersion()} once. */
final class CheckerVersion {

    /** Every class whose code decides what {@link GgufFile#read} accepts. */
    private static final List<Class<?>> CHECKER = List.of(GgufReader.class, LlamaCppChecks.class, GgufFile.class,
            GgufFile.Checks.class, GgmlType.class, GgufValueType.class);

    static final Optional<String> VALUE = compute();

    private CheckerVersion() {
    }

    private static Optional<String> compute() {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Class<?> type : CHECKER) {
                String resource = type.getName().substring(type.getPackageName().length() + 1) + ".class";
                try (InputStream in = type.getResourceAsStream(resource)) {
                    if (in == null) {
                        return Optional.empty();
                    }
                    digest.update(in.readAllBytes());
                }
            }
            return Optional.of(HexFormat.of().formatHex(digest.digest(), 0, 8));
        } catch (IOException | NoSuchAlgorithmException e) {
            return Optional.empty();
        }
    }
}
