package io.knllama.modelcache.download;

import io.knllama.modelcache.failure.SourceException;
import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.log.Log;
import io.knllama.modelcache.log.Progress;
import io.knllama.modelcache.source.Location;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.function.LongSupplier;

/** Copies a model from another mounted volume ({@code file://}), hashed on the way like a download. */
public final class FileFetcher {

    private static final int CHUNK_BYTES = 1 << 20;

    private final DiskSpace disk;
    private final Log log;
    private final LongSupplier nanoTime;

    public FileFetcher(DiskSpace disk, Log log, LongSupplier nanoTime) {
        this.disk = disk;
        this.log = log;
        this.nanoTime = nanoTime;
    }

    public Download fetch(Location.File location, PartialFile target, String label, String name)
            throws SourceException, StorageException {
        Path source = location.path();
        if (!Files.isRegularFile(source)) {
            throw new SourceException(("%s does not exist or is not a regular file: check that the volume holding it "
                    + "is mounted in the model-cache container at %s").formatted(label, source.getParent()));
        }
        if (!Files.isReadable(source)) {
            throw new SourceException("%s is not readable by this container's user: fix its permissions or the pod's fsGroup".formatted(label));
        }
        try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ)) {
            long total = in.size();
            long usable = disk.usableBytes(target.path().getParent());
            if (usable < total) {
                throw new StorageException(("%s needs %s but the volume at %s has %s free: enlarge the "
                        + "PersistentVolumeClaim or remove unused models from it").formatted(label,
                        Progress.megabytes(total), target.path().getParent(), Progress.megabytes(usable)));
            }
            log.info("copying %s (%s)".formatted(label, Progress.megabytes(total)));
            Progress progress = Progress.start(log, "copying " + name, 0, total, nanoTime);
            ByteBuffer buffer = ByteBuffer.allocate(CHUNK_BYTES);
            while (in.read(buffer.clear()) >= 0) {
                buffer.flip();
                target.append(buffer.array(), 0, buffer.limit());
                progress.update(target.length());
            }
            progress.finish(target.length(), "copied");
            return new Download(target.length(), target.sha256(), Optional.empty());
        } catch (IOException e) {
            throw new StorageException("cannot copy %s to %s: %s".formatted(label, target.path(), e), e);
        }
    }
}
