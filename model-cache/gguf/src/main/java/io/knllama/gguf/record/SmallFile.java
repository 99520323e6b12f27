package io.knllama.gguf.record;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads the small text files model-cache writes beside a model (its manifest, the check record) the one way both
 * sides read them: never through a symbolic link (it could lead anywhere on the volume, and a parse error would
 * then put a line of whatever it leads to in the log), and never more than a bound.
 */
public final class SmallFile {

    private SmallFile() {
    }

    /**
     * @return the file's text, or empty if there is none
     * @throws IllegalArgumentException if it is a symbolic link or larger than {@code maxBytes}; the message says which
     */
    public static Optional<String> read(Path path, int maxBytes) throws IOException {
        if (Files.isSymbolicLink(path)) {
            throw new IllegalArgumentException("it is a symbolic link, which is never followed");
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(path, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes(maxBytes + 1);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        if (bytes.length > maxBytes) {
            throw new IllegalArgumentException("it is larger than " + maxBytes + " bytes");
        }
        return Optional.of(new String(bytes, StandardCharsets.UTF_8));
    }
}
