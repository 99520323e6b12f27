package io.knllama.modelcache.verify;

import io.knllama.gguf.record.SmallFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * What was published and when, kept beside the model as {@code <file>.manifest}: a few {@code key=value}
 * lines that a person can read with {@code cat}. A model whose size and modification time still match
 * its manifest is the file that was verified, so it is accepted without hashing it again.
 *
 * @param source    the source it came from, in canonical form
 * @param sha256    its digest, computed while it was downloaded
 * @param size      its size in bytes
 * @param modified  its modification time once in place (what a later run compares against)
 * @param published when it was published
 */
public record Manifest(String source, Sha256 sha256, long size, Instant modified, Instant published) {

    private static final String HEADER = "# knllama model-cache: the model beside this file was verified and published as described here";
    /** Far more than the few lines this program writes; anything larger is not one of its manifests. */
    private static final int MAX_BYTES = 64 * 1024;

    public Manifest {
        if (source == null || source.isBlank() || source.contains("\n") || source.contains("\r")) {
            throw new IllegalArgumentException("a manifest's source is one non-blank line, not '" + source + "'");
        }
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
    }

    /** Where the manifest of {@code model} lives. */
    public static Path pathFor(Path model) {
        return model.resolveSibling(model.getFileName() + ".manifest");
    }

    /** Describes a model file as it is on disk now. */
    public static Manifest describe(Path model, String source, Sha256 sha256, Instant published) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(model, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        return new Manifest(source, sha256, attributes.size(), attributes.lastModifiedTime().toInstant(), published);
    }

    /**
     * Reads a manifest. A symbolic link is never followed: it could lead anywhere, and a parse error
     * would then show a line of whatever it leads to in the log.
     *
     * @return empty if there is none
     * @throws IllegalArgumentException if the file is not a manifest this program wrote; the message says why
     */
    public static Optional<Manifest> read(Path path) throws IOException {
        return SmallFile.read(path, MAX_BYTES).map(Manifest::parse);
    }

    static Manifest parse(String text) {
        Map<String, String> values = new HashMap<>();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int equals = line.indexOf('=');
            if (equals <= 0) {
                throw new IllegalArgumentException("line " + (i + 1) + " is not key=value");
            }
            values.put(line.substring(0, equals), line.substring(equals + 1));
        }
        try {
            return new Manifest(required(values, "source"), new Sha256(required(values, "sha256")),
                    Long.parseLong(required(values, "size")), Instant.parse(required(values, "modified")),
                    Instant.parse(required(values, "published")));
        } catch (NumberFormatException | DateTimeParseException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    private static String required(Map<String, String> values, String key) {
        String value = values.get(key);
        if (value == null) {
            throw new IllegalArgumentException("'" + key + "' is missing");
        }
        return value;
    }

    public String render() {
        return """
                %s
                source=%s
                sha256=%s
                size=%d
                modified=%s
                published=%s
                """.formatted(HEADER, source, sha256.hex(), size, modified, published);
    }

    /** Whether {@code model} still has the size and modification time it had when it was published. */
    public boolean matchesFile(Path model) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(model, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        return attributes.isRegularFile() && attributes.size() == size
                && attributes.lastModifiedTime().toInstant().equals(modified);
    }
}
