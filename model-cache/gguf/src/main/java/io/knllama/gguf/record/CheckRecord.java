package io.knllama.gguf.record;

import io.knllama.gguf.GgufFile;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * model-cache's signed statement that the full GGUF check ({@link GgufFile#read}, checker
 * {@link GgufFile#checkerVersion()}) passed on the model beside it, in exactly the state {@link FileIdentity}
 * describes. The function reads it to skip that check on a file model-cache has just checked.
 *
 * <p>Kept as {@code <model>.checked}: {@code key=value} lines a person can read with {@code cat}, the last
 * one an HMAC-SHA256 of all the others under the {@link RecordKey}. Whoever can write the volume but does
 * not hold the key can delete a record or leave a stale one, neither of which skips a check: a stale
 * record no longer matches the file, an edited or forged one fails the MAC.
 *
 * @param file     the model's file name (a record copied beside another file does not apply to it)
 * @param identity the model's state when it was checked
 * @param checker  the checker's version
 * @param sha256   the model's digest as model-cache knows it (for people; the function does not recompute it)
 * @param checked  when the check passed
 */
public record CheckRecord(String file, FileIdentity identity, String checker, String sha256, Instant checked) {

    private static final String HEADER = "# knllama model-cache: the full GGUF check passed on the model beside this file. "
            + "Valid only while the model is exactly as described and the mac verifies.";
    private static final String MAC_LINE = "mac=";
    /** Far more than a record's few lines; anything larger is not one. */
    private static final int MAX_BYTES = 16 * 1024;

    public CheckRecord {
        for (String value : new String[] {file, checker, sha256}) {
            if (value == null || value.isBlank() || value.contains("\n") || value.contains("\r")) {
                throw new IllegalArgumentException("a record's values are single non-blank lines");
            }
        }
    }

    /** Where the record of {@code model} lives. */
    public static Path pathFor(Path model) {
        return model.resolveSibling(model.getFileName() + ".checked");
    }

    /**
     * Describes a check by this checker that passed on {@code model} in the state {@code identity}.
     *
     * @return empty if this checker has no version (its class files cannot be read), so no record can name it
     */
    public static Optional<CheckRecord> of(Path model, FileIdentity identity, String sha256, Instant checked) {
        return GgufFile.checkerVersion().map(checker ->
                new CheckRecord(model.getFileName().toString(), identity, checker, sha256, checked));
    }

    /** The record as written to disk, signed with {@code key}. */
    public String render(RecordKey key) {
        String body = """
                %s
                file=%s
                size=%d
                modified=%s
                changed=%s
                inode=%d
                checker=%s
                sha256=%s
                checked=%s
                """.formatted(HEADER, file, identity.size(), identity.modified(), identity.changed(), identity.inode(),
                checker, sha256, checked);
        return body + MAC_LINE + key.mac(body) + "\n";
    }

    /**
     * Reads the record of {@code model} and checks that {@code key} signed it. A symbolic link is not
     * followed.
     *
     * @return empty if there is none
     * @throws IllegalArgumentException if it is not a record signed with this key (written with another key,
     *                                  edited, forged), is a symbolic link, or is malformed; the message says which
     */
    public static Optional<CheckRecord> read(Path model, RecordKey key) throws IOException {
        Optional<String> read = SmallFile.read(pathFor(model), MAX_BYTES);
        if (read.isEmpty()) {
            return Optional.empty();
        }
        String text = read.get();
        int at = text.lastIndexOf("\n" + MAC_LINE);
        if (at < 0) {
            throw new IllegalArgumentException("it has no mac");
        }
        String body = text.substring(0, at + 1);
        if (!key.verifies(body, text.substring(at + 1 + MAC_LINE.length()).strip())) {
            throw new IllegalArgumentException("its mac does not verify (written with another key, edited, or forged)");
        }
        return Optional.of(parse(body));
    }

    private static CheckRecord parse(String body) {
        Map<String, String> values = new HashMap<>();
        for (String line : body.split("\n")) {
            int equals = line.indexOf('=');
            if (!line.startsWith("#") && equals > 0) {
                values.put(line.substring(0, equals), line.substring(equals + 1));
            }
        }
        try {
            FileIdentity identity = new FileIdentity(Long.parseLong(required(values, "size")),
                    Instant.parse(required(values, "modified")), Instant.parse(required(values, "changed")),
                    Long.parseLong(required(values, "inode")));
            return new CheckRecord(required(values, "file"), identity, required(values, "checker"),
                    required(values, "sha256"), Instant.parse(required(values, "checked")));
        } catch (NumberFormatException | DateTimeParseException e) {
            throw new IllegalArgumentException("a value is malformed: " + e.getMessage(), e);
        }
    }

    private static String required(Map<String, String> values, String key) {
        String value = values.get(key);
        if (value == null) {
            throw new IllegalArgumentException("'" + key + "' is missing");
        }
        return value;
    }

    /**
     * Why this record does not vouch for {@code model} in the state {@code now}, checked by this checker.
     *
     * @return empty if it does
     */
    public Optional<String> mismatch(Path model, FileIdentity now) {
        if (!file.equals(model.getFileName().toString())) {
            return Optional.of("it was written for " + file);
        }
        if (GgufFile.checkerVersion().filter(checker::equals).isEmpty()) {
            return Optional.of("it was written by another version of the GGUF check (%s, this is %s)"
                    .formatted(checker, GgufFile.checkerVersion().orElse("unknown")));
        }
        if (now.inode() != identity.inode()) {
            return Optional.of("the model was replaced after the check (another inode)");
        }
        if (now.size() != identity.size() || !now.modified().equals(identity.modified())) {
            return Optional.of("the model's size or modification time changed after the check");
        }
        if (!now.changed().equals(identity.changed())) {
            return Optional.of("the model was written to, or its attributes changed, after the check (its change time differs)");
        }
        return Optional.empty();
    }
}
