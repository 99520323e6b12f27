package io.knllama.modelcache.verify;

import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.log.Log;
import io.knllama.modelcache.log.Progress;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.LongSupplier;

/** Decides whether a model already on the volume can be used as it is. */
public final class InstalledModel {

    /** The outcome of {@link #check}. */
    public sealed interface Verdict {
        /** The model is there and may be used. */
        record Accepted(Manifest manifest) implements Verdict {
        }

        /** There is no model file. */
        record Absent() implements Verdict {
        }

        /** There is a file, but it may not be used as it is; {@code reason} completes "it is not used because …". */
        record Rejected(String reason) implements Verdict {
        }
    }

    private final Log log;
    private final LongSupplier nanoTime;
    private final CheckRecords records;

    public InstalledModel(Log log, LongSupplier nanoTime, CheckRecords records) {
        this.log = log;
        this.nanoTime = nanoTime;
        this.records = records;
    }

    /**
     * Checks the model at {@code model} against its manifest. In {@link VerifyMode#MANIFEST} mode that is
     * a few small reads (and, with a record key, the GGUF check when the check record no longer matches the
     * file, which then gets a new record); in {@link VerifyMode#FULL} mode the file is hashed and parsed again.
     *
     * @param source the configured source, canonical; without a pinned digest the manifest must name the same
     * @param pinned the configured digest; with one, the manifest must record it (the source may differ)
     */
    public Verdict check(Path model, String source, Optional<Sha256> pinned, VerifyMode mode) throws StorageException {
        try {
            if (!Files.isRegularFile(model, LinkOption.NOFOLLOW_LINKS)) {
                return new Verdict.Absent();
            }
            Optional<Manifest> read;
            try {
                read = Manifest.read(Manifest.pathFor(model));
            } catch (IllegalArgumentException e) {
                return new Verdict.Rejected("its manifest is not readable (" + e.getMessage() + ")");
            }
            if (read.isEmpty()) {
                return new Verdict.Rejected("it has no manifest (it was not published by model-cache, or publishing was interrupted)");
            }
            Manifest manifest = read.get();
            if (!manifest.matchesFile(model)) {
                return new Verdict.Rejected("its size or modification time changed after it was published");
            }
            if (pinned.isPresent() && !pinned.get().equals(manifest.sha256())) {
                return new Verdict.Rejected("it is %s, not the pinned %s".formatted(manifest.sha256(), pinned.get()));
            }
            if (pinned.isEmpty() && !manifest.source().equals(source)) {
                return new Verdict.Rejected("it came from %s, not %s".formatted(manifest.source(), source));
            }
            if (mode == VerifyMode.FULL) {
                Sha256 actual = hash(model);
                if (!actual.equals(manifest.sha256())) {
                    return new Verdict.Rejected("its content no longer matches its manifest (%s, expected %s)"
                            .formatted(actual, manifest.sha256()));
                }
            }
            Optional<String> unusable = records.ensureChecked(model, manifest.sha256(), "the model already at " + model,
                    mode == VerifyMode.FULL);
            return unusable.<Verdict>map(Verdict.Rejected::new).orElseGet(() -> new Verdict.Accepted(manifest));
        } catch (IOException e) {
            throw new StorageException("cannot read %s on the volume: %s".formatted(model, e), e);
        }
    }

    /** Hashes a file on the volume, with progress lines for a large one. */
    public Sha256 hash(Path file) throws IOException {
        long size = Files.size(file);
        Progress progress = Progress.start(log, "verifying " + file.getFileName(), 0, size, nanoTime);
        Sha256 sha256 = Sha256.ofFile(file, progress::update);
        progress.finish(size, "hashed");
        return sha256;
    }
}
