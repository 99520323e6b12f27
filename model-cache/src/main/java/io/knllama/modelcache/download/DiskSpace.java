package io.knllama.modelcache.download;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Free space on the volume, checked before a transfer starts rather than discovered when a write fails. */
@FunctionalInterface
public interface DiskSpace {

    /** Bytes this process may still write in {@code directory}'s file system. */
    long usableBytes(Path directory) throws IOException;

    static DiskSpace ofFileStore() {
        return directory -> Files.getFileStore(directory).getUsableSpace();
    }
}
