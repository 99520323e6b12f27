package io.knllama.modelcache.download;

import io.knllama.modelcache.verify.Sha256;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;

/**
 * The file a download is written to before it is published, hashed as it is written so the digest
 * costs no second pass. Its name is private to one process: nobody else writes to it, which is what
 * makes the streamed digest the digest of the file.
 */
public final class PartialFile implements Closeable {

    private final Path path;
    private final FileChannel channel;
    private MessageDigest digest = Sha256.newDigest();
    private long length;

    private PartialFile(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /** Creates the file; it must not exist yet. */
    public static PartialFile create(Path path) throws IOException {
        return new PartialFile(path, FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
    }

    public Path path() {
        return path;
    }

    /** Bytes written so far: where a resumed download continues. */
    public long length() {
        return length;
    }

    public void append(byte[] bytes, int offset, int count) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(bytes, offset, count);
        while (buffer.hasRemaining()) {
            channel.write(buffer, length + (buffer.position() - offset));
        }
        digest.update(bytes, offset, count);
        length += count;
    }

    /** Discards everything written, for a download that has to start over. */
    public void restart() throws IOException {
        channel.truncate(0);
        digest = Sha256.newDigest();
        length = 0;
    }

    /** The digest of the bytes written so far. */
    public Sha256 sha256() {
        try {
            return Sha256.of((MessageDigest) digest.clone());
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("the JDK's SHA-256 can be cloned", e);
        }
    }

    /** Forces the content to stable storage, so the rename that publishes it cannot outrun the data. */
    public void sync() throws IOException {
        channel.force(true);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** Closes and removes the file. */
    public void discard() throws IOException {
        close();
        Files.deleteIfExists(path);
    }
}
