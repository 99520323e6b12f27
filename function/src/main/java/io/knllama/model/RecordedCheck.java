package io.knllama.model;

import io.knllama.gguf.GgufException;
import io.knllama.gguf.GgufFile;
import io.knllama.gguf.record.CheckRecord;
import io.knllama.gguf.record.FileIdentity;
import io.knllama.gguf.record.RecordKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * The one decision whether the model file may skip the full GGUF check: only when model-cache checked this
 * very file and signed a {@link CheckRecord} saying so, with the key this process holds, and the file is in
 * exactly the state the record names. Anything else (no key, no record, another key, an edited or forged
 * record, another checker version, a file written to or replaced since) means the full check, as without
 * records. What the record does and does not protect against: README, "The check record".
 */
final class RecordedCheck {

    /** The environment variable holding the key, the same one model-cache reads. */
    static final String KEY_VARIABLE = "KNLLAMA_MODEL_RECORD_KEY";

    private static final Logger LOG = LoggerFactory.getLogger(RecordedCheck.class);

    /** What {@link #decide} found. */
    sealed interface Decision {
        /** The record vouches for the file as it was when the decision was made. */
        record Trusted(CheckRecord record, FileIdentity identity) implements Decision {
        }

        /** The full check runs; {@code reason} completes "because …". */
        record Untrusted(String reason) implements Decision {
        }
    }

    private RecordedCheck() {
    }

    /**
     * The key from the environment. A malformed one is not fatal (the model is then checked in full) but is
     * logged, without its value.
     */
    static Optional<RecordKey> keyFrom(UnaryOperator<String> environment) {
        String value = environment.apply(KEY_VARIABLE);
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(RecordKey.of(value));
        } catch (IllegalArgumentException e) {
            LOG.warn("{} is ignored: {}. The model file is checked in full.", KEY_VARIABLE, e.getMessage());
            return Optional.empty();
        }
    }

    static Decision decide(Path model, Optional<RecordKey> key) {
        if (key.isEmpty()) {
            return new Decision.Untrusted(KEY_VARIABLE + " is not set");
        }
        try {
            Optional<CheckRecord> record = CheckRecord.read(model, key.get());
            if (record.isEmpty()) {
                return new Decision.Untrusted("there is no check record (" + CheckRecord.pathFor(model).getFileName() + ")");
            }
            FileIdentity identity = FileIdentity.of(model);
            Optional<String> mismatch = record.get().mismatch(model, identity);
            if (mismatch.isPresent()) {
                return new Decision.Untrusted("its check record does not apply: " + mismatch.get());
            }
            return new Decision.Trusted(record.get(), identity);
        } catch (IllegalArgumentException e) {
            return new Decision.Untrusted("its check record is not to be trusted: " + e.getMessage());
        } catch (IOException e) {
            return new Decision.Untrusted("its check record or state cannot be read: " + e.getMessage());
        }
    }

    /** Whether the file is still in the state the decision trusted; checked again after reading it. */
    static boolean unchanged(Path model, Decision.Trusted trusted) {
        try {
            return FileIdentity.of(model).equals(trusted.identity());
        } catch (IOException e) {
            return false;
        }
    }

    /** Reads the file with the checks the decision allows, and says what was done. */
    static GgufFile read(Path model, Optional<RecordKey> key) throws GgufException, IOException {
        Decision decision = decide(model, key);
        if (decision instanceof Decision.Trusted trusted) {
            GgufFile file = GgufFile.read(model, GgufFile.Checks.ALL_BUT_LARGE_ARRAYS);
            if (unchanged(model, trusted)) {
                LOG.info("Model file {} was checked by model-cache at {} (checker {}, signed record): skipping the "
                        + "per-entry vocabulary pass", model, trusted.record().checked(), trusted.record().checker());
                return file;
            }
            decision = new Decision.Untrusted("it changed while it was read");
        }
        String reason = ((Decision.Untrusted) decision).reason();
        if (key.isPresent()) {
            LOG.info("Model file {}: full GGUF check, because {}", model, reason);
        } else {
            LOG.debug("Model file {}: full GGUF check, because {}", model, reason);
        }
        return GgufFile.read(model);
    }
}
