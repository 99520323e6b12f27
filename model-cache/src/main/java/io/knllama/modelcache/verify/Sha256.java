package io.knllama.modelcache.verify;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;

/**
 * A SHA-256 digest, as 64 lowercase hex digits.
 *
 * @param hex the digest
 */
public record Sha256(String hex) {

    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");
    private static final int READ_BYTES = 1 << 20;

    public Sha256 {
        if (hex == null || !HEX.matcher(hex).matches()) {
            throw new IllegalArgumentException("a sha256 is 64 hex digits, not '" + hex + "'");
        }
    }

    /**
     * Parses a digest as people write it: {@code sha256:<hex>} or bare hex, in either case, with
     * surrounding spaces ignored.
     *
     * @throws IllegalArgumentException if it is not 64 hex digits after the optional prefix
     */
    public static Sha256 parse(String text) {
        String value = text.strip().toLowerCase(Locale.ROOT);
        return new Sha256(value.startsWith("sha256:") ? value.substring("sha256:".length()) : value);
    }

    /**
     * The digest an HTTP entity tag carries, if it is one: Hugging Face's {@code X-Linked-Etag} for an
     * LFS file is its sha256 in quotes. Other tags (a git blob's sha1, an S3 MD5) give nothing.
     */
    public static Optional<Sha256> fromEntityTag(String tag) {
        if (tag == null) {
            return Optional.empty();
        }
        String value = tag.strip();
        if (value.startsWith("W/")) {
            value = value.substring(2);
        }
        value = value.replace("\"", "").toLowerCase(Locale.ROOT);
        return HEX.matcher(value).matches() ? Optional.of(new Sha256(value)) : Optional.empty();
    }

    public static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    public static Sha256 of(MessageDigest digest) {
        return new Sha256(HexFormat.of().formatHex(digest.digest()));
    }

    /** Hashes a file, reporting the bytes read so far to {@code progress} after each chunk. */
    public static Sha256 ofFile(Path path, LongConsumer progress) throws IOException {
        MessageDigest digest = newDigest();
        ByteBuffer buffer = ByteBuffer.allocateDirect(READ_BYTES);
        long done = 0;
        // Never through a symbolic link: what is hashed is the file on the volume, not what a link leads to.
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            while (channel.read(buffer.clear()) >= 0) {
                done += buffer.flip().remaining();
                digest.update(buffer);
                progress.accept(done);
            }
        }
        return of(digest);
    }

    @Override
    public String toString() {
        return "sha256:" + hex;
    }
}
