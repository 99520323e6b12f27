package io.knllama.modelcache.publish;

import io.knllama.gguf.record.CheckRecord;
import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.verify.Manifest;
import io.knllama.modelcache.verify.Sha256;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;

/**
 * Puts a verified file in place so that a reader sees either the old model or the new one, never a
 * part of one: the file is already synced, the rename is atomic, the directory is synced after it.
 * The manifest and the check record are removed before the rename and written after it, so they never
 * describe a file they did not come with.
 */
public final class Publisher {

    private final Clock clock;

    public Publisher(Clock clock) {
        this.clock = clock;
    }

    /**
     * Moves {@code verified} (synced, in the same directory) to {@code model} and writes its manifest.
     *
     * @param id a name private to this process, for the manifest's temporary file
     */
    public Manifest publish(Path verified, Path model, String source, Sha256 sha256, String id) throws StorageException {
        try {
            Files.deleteIfExists(Manifest.pathFor(model));
            Files.deleteIfExists(CheckRecord.pathFor(model));
            Files.move(verified, model, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            syncDirectory(model.getParent());
        } catch (IOException e) {
            throw new StorageException("cannot move the verified model into place at %s: %s".formatted(model, e), e);
        }
        return writeManifest(model, source, sha256, id);
    }

    /** Records a manifest for a model that is already in place (and verified). */
    public Manifest writeManifest(Path model, String source, Sha256 sha256, String id) throws StorageException {
        Path path = Manifest.pathFor(model);
        try {
            Manifest manifest = Manifest.describe(model, source, sha256, clock.instant());
            writeAtomically(path, manifest.render(), id);
            return manifest;
        } catch (IOException e) {
            throw new StorageException("cannot write the manifest %s: %s".formatted(path, e), e);
        }
    }

    /**
     * Replaces {@code path} with {@code content} so that a reader sees the old text or the new one: written to
     * a temporary file beside it, synced, renamed over it, the directory synced.
     *
     * @param id a name private to this process, for the temporary file (a leftover is removed by {@link #removeLeftovers})
     */
    public static void writeAtomically(Path path, String content, String id) throws IOException {
        Path temporary = path.resolveSibling("." + path.getFileName() + "." + id + ".tmp");
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(StandardCharsets.UTF_8.encode(content));
            channel.force(true);
        }
        Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(path.getParent());
    }

    /**
     * Removes what earlier processes left behind for {@code model}: partial downloads and temporary
     * manifests. Call it only while holding the lock: then no live process is writing them.
     *
     * @return how many files were removed
     */
    public int removeLeftovers(Path model) throws StorageException {
        String name = model.getFileName().toString();
        int removed = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(model.getParent(), "." + name + ".*")) {
            for (Path file : files) {
                String leftover = file.getFileName().toString();
                if (leftover.endsWith(".part") || leftover.endsWith(".tmp") || leftover.contains(".lock.stale-")) {
                    Files.deleteIfExists(file);
                    removed++;
                }
            }
        } catch (IOException e) {
            throw new StorageException("cannot clean up %s: %s".formatted(model.getParent(), e), e);
        }
        return removed;
    }

    /** Makes a rename durable. Some file systems cannot open or sync a directory; the rename is atomic regardless. */
    static void syncDirectory(Path directory) {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException ignored) {
            // See above.
        }
    }
}
