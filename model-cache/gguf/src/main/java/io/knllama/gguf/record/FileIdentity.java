package io.knllama.gguf.record;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;

/**
 * What identifies one state of a file cheaply, from one {@code stat}: size, modification time, change
 * time and inode. An ordinary process can write a file and set its modification time back, but not its
 * change time ({@code ctime}: the kernel sets it on every write, rename or attribute change), and
 * replacing the file gives it another inode. So a file whose identity is unchanged has not been written
 * since, up to the file system's timestamp granularity.
 *
 * @param size     bytes
 * @param modified modification time ({@code mtime})
 * @param changed  change time ({@code ctime})
 * @param inode    inode number (stable across NFS clients, unlike the device number, which is left out)
 */
public record FileIdentity(long size, Instant modified, Instant changed, long inode) {

    /**
     * Reads the identity of a regular file, without following a symbolic link.
     *
     * @throws IOException if it is not a regular file, or the file system does not report change times and
     *                     inodes (then nothing can vouch for the file's state)
     */
    public static FileIdentity of(Path file) throws IOException {
        Map<String, Object> attributes;
        try {
            attributes = Files.readAttributes(file, "unix:size,lastModifiedTime,ctime,ino,isRegularFile", LinkOption.NOFOLLOW_LINKS);
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            throw new FileSystemException(file.toString(), null, "the file system reports no change time and inode");
        }
        if (!Boolean.TRUE.equals(attributes.get("isRegularFile"))) {
            throw new FileSystemException(file.toString(), null, "not a regular file (a symbolic link is not followed)");
        }
        return new FileIdentity((Long) attributes.get("size"), ((FileTime) attributes.get("lastModifiedTime")).toInstant(),
                ((FileTime) attributes.get("ctime")).toInstant(), (Long) attributes.get("ino"));
    }
}
