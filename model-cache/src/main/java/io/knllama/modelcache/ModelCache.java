package io.knllama.modelcache;

import io.knllama.gguf.GgufFile;
import io.knllama.modelcache.download.Download;
import io.knllama.modelcache.download.DownloadPolicy;
import io.knllama.modelcache.download.Fetcher;
import io.knllama.modelcache.download.PartialFile;
import io.knllama.modelcache.failure.IntegrityException;
import io.knllama.modelcache.failure.ModelCacheException;
import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.log.Log;
import io.knllama.modelcache.log.Progress;
import io.knllama.modelcache.publish.Lease;
import io.knllama.modelcache.publish.Publisher;
import io.knllama.modelcache.publish.VolumeLock;
import io.knllama.modelcache.source.Location;
import io.knllama.modelcache.verify.CheckRecords;
import io.knllama.modelcache.verify.GgufCheck;
import io.knllama.modelcache.verify.InstalledModel;
import io.knllama.modelcache.verify.InstalledModel.Verdict;
import io.knllama.modelcache.verify.Manifest;
import io.knllama.modelcache.verify.Sha256;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Makes sure the configured model is on the volume and sound, downloading it at most once however
 * many pods start together:
 *
 * <ol>
 *   <li>A model whose manifest matches is accepted at once (or after a re-hash, in full mode).</li>
 *   <li>Otherwise one process takes the {@link VolumeLock} and downloads; the others wait, and accept the
 *       model once its manifest appears.</li>
 *   <li>The owner keeps a file already there if its hash is still the expected one. Otherwise it downloads
 *       to a file of its own, checks the digest (pinned, else announced by the source) and the GGUF
 *       structure, and only then publishes by atomic rename, then writes the manifest.</li>
 * </ol>
 */
public final class ModelCache {

    private static final Duration MAX_POLL = Duration.ofSeconds(1);
    private static final Duration WAIT_LOG_EVERY = Duration.ofSeconds(30);

    private final Config config;
    private final Fetcher fetcher;
    private final Log log;
    private final Clock clock;
    private final LongSupplier nanoTime;
    private final InstalledModel installed;
    private final CheckRecords records;
    private final Publisher publisher;
    private final Path model;
    private final String source;

    ModelCache(Config config, Fetcher fetcher, Log log, Clock clock, LongSupplier nanoTime) {
        this.config = config;
        this.fetcher = fetcher;
        this.log = log;
        this.clock = clock;
        this.nanoTime = nanoTime;
        this.records = new CheckRecords(config.recordKey(), log, clock);
        this.installed = new InstalledModel(log, nanoTime, records);
        this.publisher = new Publisher(clock);
        this.model = config.modelPath();
        this.source = config.source().canonical();
    }

    public static ModelCache create(Config config, Log log) {
        return create(config, DownloadPolicy.defaults(), log);
    }

    static ModelCache create(Config config, DownloadPolicy policy, Log log) {
        return new ModelCache(config, Fetcher.create(policy.withMaxBytes(config.maxSize()), log), log, Clock.systemUTC(),
                System::nanoTime);
    }

    /**
     * Returns once the model is in place and verified.
     *
     * @return the model's path
     * @throws ModelCacheException if it cannot be, with a message that says what to fix
     */
    public Path ensure() throws ModelCacheException, InterruptedException {
        long start = nanoTime.getAsLong();
        log.info("model-cache: %s -> %s (sha256 %s, verify %s)".formatted(source, model,
                config.sha256().map(Sha256::toString).orElse("not pinned"), config.verify().name().toLowerCase(Locale.ROOT)));
        createDirectory();
        Verdict verdict = installed.check(model, source, config.sha256(), config.verify());
        if (verdict instanceof Verdict.Accepted accepted) {
            return ready(accepted.manifest(), "already present, checked in " + millis(start));
        }
        if (verdict instanceof Verdict.Rejected rejected) {
            log.info("%s is there but cannot be used as it is: %s".formatted(model, rejected.reason()));
        }
        requireWritable();
        return waitOrPull(start, manifestText());
    }

    private Path waitOrPull(long start, Optional<String> manifestSeen) throws ModelCacheException, InterruptedException {
        VolumeLock lock = new VolumeLock(model.resolveSibling("." + model.getFileName() + ".lock"),
                config.lockStaleAfter(), log, nanoTime, clock);
        Duration poll = min(MAX_POLL, config.lockStaleAfter().dividedBy(4));
        long waitingSince = 0;
        long lastWaitLog = 0;
        while (true) {
            Optional<Lease> lease = tryAcquire(lock);
            if (lease.isPresent()) {
                try (Lease held = lease.get()) {
                    // Whoever held the lock before may have published while this process waited for it.
                    if (!manifestText().equals(manifestSeen)
                            && installed.check(model, source, config.sha256(), config.verify()) instanceof Verdict.Accepted accepted) {
                        return ready(accepted.manifest(), "published by another process");
                    }
                    return pull(held, lock.id(), start);
                }
            }
            long now = nanoTime.getAsLong();
            if (waitingSince == 0 || now - lastWaitLog >= WAIT_LOG_EVERY.toNanos()) {
                waitingSince = waitingSince == 0 ? now : waitingSince;
                lastWaitLog = now;
                log.info("waiting for %s, which is fetching %s (waited %d s; a lock not renewed for %d s is taken over)"
                        .formatted(lock.holder().orElse("another process"), model.getFileName(),
                                TimeUnit.NANOSECONDS.toSeconds(now - waitingSince), config.lockStaleAfter().toSeconds()));
            }
            Thread.sleep(poll);
            Optional<String> manifestNow = manifestText();
            if (manifestNow.isPresent() && !manifestNow.equals(manifestSeen)) {
                manifestSeen = manifestNow;
                if (installed.check(model, source, config.sha256(), config.verify()) instanceof Verdict.Accepted accepted) {
                    return ready(accepted.manifest(), "published by " + lock.holder().orElse("another process"));
                }
            }
        }
    }

    /** Under the lock: adopt a present file that matches the pin, or download, verify and publish. */
    private Path pull(Lease lease, String id, long start) throws ModelCacheException, InterruptedException {
        int removed = publisher.removeLeftovers(model);
        if (removed > 0) {
            log.info("removed %d leftover file(s) of earlier, interrupted runs".formatted(removed));
        }
        Optional<Path> adopted = adoptPresent(id, start);
        if (adopted.isPresent()) {
            return adopted.get();
        }
        Location location = config.source().resolve(config.hub());
        Path partPath = model.resolveSibling("." + model.getFileName() + "." + id + ".part");
        PartialFile part;
        try {
            part = PartialFile.create(partPath);
        } catch (IOException e) {
            throw new StorageException("cannot create %s: %s".formatted(partPath, e), e);
        }
        try {
            Download download = fetcher.fetch(location, part, config.sha256(), source, model.getFileName().toString());
            checkDigest(download);
            part.sync();
            part.close();
            GgufFile gguf = GgufCheck.check(partPath, "the file downloaded from " + source);
            if (!lease.held()) {
                log.warn("publishing without the lock: the file is verified, so this is safe, but another process may have downloaded it too");
            }
            Manifest manifest = publisher.publish(partPath, model, source, download.sha256(), id);
            log.info("published %s: %s, %d tensors, %s of weights".formatted(model, gguf.architecture(), gguf.tensors().size(),
                    Progress.megabytes(gguf.tensorBytes())));
            if (records.enabled()) {
                // The record vouches for the file in place, so it is checked in place (the rename changed its ctime).
                Optional<String> unusable = records.ensureChecked(model, download.sha256(), "the model just published at " + model, true);
                if (unusable.isPresent()) {
                    throw new IntegrityException(unusable.get() + " It passed before it was renamed into place: something "
                            + "else writes to the volume.");
                }
            }
            return ready(manifest, "downloaded and verified in " + millis(start));
        } catch (IOException e) {
            discard(part);
            throw new StorageException("cannot write %s: %s".formatted(partPath, e), e);
        } catch (ModelCacheException | InterruptedException | RuntimeException e) {
            discard(part);
            throw e;
        }
    }

    /**
     * A file already in place that its manifest no longer vouches for (copied in by hand, manifest lost,
     * or a modification time that a volume did not keep) is kept if hashing it gives the digest it must
     * have: the pinned one, or, unpinned, the one its manifest recorded for this same source. Hashing is
     * cheaper than downloading again. A symbolic link is never adopted.
     */
    private Optional<Path> adoptPresent(String id, long start) throws ModelCacheException {
        if (Files.isSymbolicLink(model)) {
            // A link can lead anywhere, outside the volume too; publishing renames over the link itself.
            log.warn("%s is a symbolic link: model-cache never follows or adopts one; it is replaced by the model from %s"
                    .formatted(model, source));
            return Optional.empty();
        }
        if (!Files.isRegularFile(model, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        Optional<Sha256> expected = config.sha256().or(this::digestRecordedForThisSource);
        if (expected.isEmpty()) {
            return Optional.empty();
        }
        Sha256 actual;
        try {
            actual = installed.hash(model);
        } catch (IOException e) {
            throw new StorageException("cannot read %s: %s".formatted(model, e), e);
        }
        if (!actual.equals(expected.get())) {
            log.info("%s is %s, not the expected %s: replacing it".formatted(model, actual, expected.get()));
            return Optional.empty();
        }
        Optional<String> unusable = records.ensureChecked(model, actual, "the model already at " + model, true);
        if (unusable.isPresent()) {
            throw new IntegrityException(unusable.get());
        }
        Manifest manifest = publisher.writeManifest(model, source, actual, id);
        return Optional.of(ready(manifest, "already present with the expected digest, adopted in " + millis(start)));
    }

    private Optional<Sha256> digestRecordedForThisSource() {
        try {
            return Manifest.read(Manifest.pathFor(model)).filter(manifest -> manifest.source().equals(source)).map(Manifest::sha256);
        } catch (IOException | IllegalArgumentException unreadable) {
            return Optional.empty();
        }
    }

    private void checkDigest(Download download) throws IntegrityException {
        Sha256 actual = download.sha256();
        if (config.sha256().isPresent() && !config.sha256().get().equals(actual)) {
            throw new IntegrityException(("the file downloaded from %s is %s, but KNLLAMA_MODEL_SHA256 pins %s. It was "
                    + "discarded and nothing was published. If the model was changed on purpose, update the pin; "
                    + "otherwise pin a revision (a commit) so the source cannot change under you.")
                    .formatted(source, actual, config.sha256().get()));
        }
        if (download.advertised().isPresent() && !download.advertised().get().equals(actual)) {
            throw new IntegrityException(("the file downloaded from %s is %s, but the source announced %s: the transfer "
                    + "was corrupted (a proxy rewriting content?). It was discarded; restarting the pod downloads it again.")
                    .formatted(source, actual, download.advertised().get()));
        }
        if (config.sha256().isEmpty() && download.advertised().isEmpty()) {
            log.warn(("no digest is pinned and %s announces none, so only the GGUF structure is checked: "
                    + "set KNLLAMA_MODEL_SHA256=%s to pin this file").formatted(source, actual.hex()));
        }
    }

    private Path ready(Manifest manifest, String how) {
        log.info("model ready: %s (%s, %s), %s".formatted(model, Progress.megabytes(manifest.size()), manifest.sha256(), how));
        return model;
    }

    private void createDirectory() throws StorageException {
        Path directory = config.directory();
        if (Files.isDirectory(directory)) {
            return;
        }
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new StorageException(("KNLLAMA_MODEL_DIR %s does not exist and cannot be created (%s): mount the shared "
                    + "PersistentVolumeClaim there in the model-cache container").formatted(directory, e), e);
        }
    }

    private void requireWritable() throws StorageException {
        if (!Files.isWritable(config.directory())) {
            throw new StorageException(("KNLLAMA_MODEL_DIR %s is not writable by this container's user: mount the volume "
                    + "read-write (Knative needs kubernetes.podspec-persistent-volume-write enabled, and readOnly: false "
                    + "on the mount) and give the pod an fsGroup that may write it").formatted(config.directory()));
        }
    }

    private Optional<Lease> tryAcquire(VolumeLock lock) throws StorageException {
        try {
            return lock.tryAcquire();
        } catch (IOException e) {
            throw new StorageException("cannot use the lock file in %s: %s".formatted(config.directory(), e), e);
        }
    }

    private Optional<String> manifestText() throws StorageException {
        try {
            return Optional.of(Files.readString(Manifest.pathFor(model)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new StorageException("cannot read %s: %s".formatted(Manifest.pathFor(model), e), e);
        }
    }

    private void discard(PartialFile part) {
        try {
            part.discard();
        } catch (IOException e) {
            log.warn("cannot remove %s (%s); the next run removes it".formatted(part.path(), e));
        }
    }

    private String millis(long start) {
        long elapsed = nanoTime.getAsLong() - start;
        return elapsed < 10_000_000_000L ? TimeUnit.NANOSECONDS.toMillis(elapsed) + " ms" : TimeUnit.NANOSECONDS.toSeconds(elapsed) + " s";
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
