package io.knllama.modelcache.verify;

import io.knllama.gguf.record.CheckRecord;
import io.knllama.gguf.record.FileIdentity;
import io.knllama.gguf.record.RecordKey;
import io.knllama.modelcache.failure.IntegrityException;
import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.log.Log;
import io.knllama.modelcache.publish.Publisher;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Runs the full GGUF check on the model in place and, when {@code KNLLAMA_MODEL_RECORD_KEY} is set,
 * records that it passed in a signed {@link CheckRecord} beside it, so that the function can skip its
 * own full pass on the same, unchanged file. Without a key it only checks.
 *
 * <p>The record names the file's state read before the check and is written only if the state is the
 * same after it: what it vouches for is what was read.
 */
public final class CheckRecords {

    private final Optional<RecordKey> key;
    private final Log log;
    private final Clock clock;
    /** Names this process's temporary files; records are written without the lock, by every pod that needs to. */
    private final String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());

    public CheckRecords(Optional<RecordKey> key, Log log, Clock clock) {
        this.key = key;
        this.log = log;
        this.clock = clock;
    }

    public boolean enabled() {
        return key.isPresent();
    }

    /**
     * Makes sure the model in place passed the full GGUF check as it is now, and, with a key, that its
     * record says so.
     *
     * @param sha256 the model's digest as far as model-cache knows it, for the record's reader
     * @param what   how a message names the file, e.g. "the model already at /models/m.gguf"
     * @param force  check even though a record vouches for the file (full verification, a file just published)
     * @return why the model may not be used, if it failed the check
     */
    public Optional<String> ensureChecked(Path model, Sha256 sha256, String what, boolean force) throws StorageException {
        if (key.isEmpty() && !force) {
            return Optional.empty();
        }
        if (!force && vouches(model)) {
            return Optional.empty();
        }
        Optional<FileIdentity> before = key.isPresent() ? identity(model) : Optional.empty();
        try {
            GgufCheck.check(model, what);
        } catch (IntegrityException e) {
            return Optional.of(e.getMessage());
        }
        if (key.isPresent() && before.isPresent()) {
            record(model, before.get(), sha256);
        }
        return Optional.empty();
    }

    private boolean vouches(Path model) {
        try {
            Optional<CheckRecord> record = CheckRecord.read(model, key.orElseThrow());
            return record.isPresent() && record.get().mismatch(model, FileIdentity.of(model)).isEmpty();
        } catch (IOException | IllegalArgumentException unusable) {
            return false; // checked and written anew
        }
    }

    private void record(Path model, FileIdentity checked, Sha256 sha256) {
        Optional<FileIdentity> after = identity(model);
        if (after.isEmpty() || !after.get().equals(checked)) {
            log.warn("%s changed while it was checked: no check record written, so the function checks it in full".formatted(model));
            return;
        }
        Optional<CheckRecord> record = CheckRecord.of(model, checked, sha256.hex(), clock.instant());
        if (record.isEmpty()) {
            log.warn("the GGUF check has no version here (its class files cannot be read): no check record written");
            return;
        }
        Path path = CheckRecord.pathFor(model);
        try {
            Publisher.writeAtomically(path, record.get().render(key.orElseThrow()), id);
            log.info("recorded the GGUF check (checker %s) in %s: the function skips its own full pass while %s stays as it is"
                    .formatted(record.get().checker(), path, model.getFileName()));
        } catch (IOException e) {
            log.warn("cannot write %s (%s): the function checks the model in full".formatted(path, e));
        }
    }

    private Optional<FileIdentity> identity(Path model) {
        try {
            return Optional.of(FileIdentity.of(model));
        } catch (IOException e) {
            if (key.isPresent()) {
                log.warn("cannot identify %s (%s): no check record written, so the function checks it in full".formatted(model, e.getMessage()));
            }
            return Optional.empty();
        }
    }
}
