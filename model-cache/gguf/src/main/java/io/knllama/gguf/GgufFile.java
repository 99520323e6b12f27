package io.knllama.gguf;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A GGUF file whose structure has been checked: header, metadata, tensor table, and every tensor's
 * data lying inside the file where llama.cpp expects it.
 *
 * <p>llama.cpp answers a malformed file with {@code GGML_ASSERT}, which aborts the whole process,
 * and its parser has a history of crashes on crafted input. {@link #read(Path)} is the guard in front
 * of it: it never allocates what the file merely declares (every count and length is checked
 * against the bytes that are actually there first), never reads past the end, and also checks the
 * few metadata entries that llama.cpp reads without type checks (the tokenizer tables).
 *
 * @param version     GGUF version (2 or 3)
 * @param fileSize    size of the file in bytes
 * @param alignment   data alignment in bytes ({@code general.alignment}, default 32)
 * @param dataOffset  offset of the tensor data section
 * @param metadata    metadata entries by key, in file order
 * @param tensors     tensor table, in file order
 */
public record GgufFile(
        int version,
        long fileSize,
        int alignment,
        long dataOffset,
        Map<String, MetadataValue> metadata,
        List<TensorInfo> tensors) {

    /** How much of the file {@link #read(Path, Checks)} checks. */
    public enum Checks {
        /** Everything: what stands between an unknown file and llama.cpp. */
        ALL,
        /**
         * Everything but the per-entry pass over large string arrays (the vocabulary's and merges' hundreds of
         * thousands of entries, each decoded as UTF-8 and the vocabulary's checked for repeats): most of the
         * time {@link #ALL} takes. Only for a file known to have passed {@link #ALL} already and to be unchanged
         * since; the header, metadata types and bounds, the tensor table and the tensor data's place in the
         * file are still checked.
         */
        ALL_BUT_LARGE_ARRAYS
    }

    /**
     * Reads and checks the file's structure.
     *
     * @throws GgufException if the file is not a well-formed GGUF model; the message says what is wrong
     * @throws IOException   if the file cannot be read
     */
    public static GgufFile read(Path path) throws GgufException, IOException {
        return GgufReader.read(path, Checks.ALL);
    }

    /**
     * Reads the file with the given checks; see {@link Checks}.
     *
     * @throws GgufException if the file is not a well-formed GGUF model; the message says what is wrong
     * @throws IOException   if the file cannot be read
     */
    public static GgufFile read(Path path, Checks checks) throws GgufException, IOException {
        return GgufReader.read(path, checks);
    }

    /**
     * The texts of the vocabulary's control (and unknown) tokens: what llama.cpp's tokenizer turns into those tokens
     * when it parses special tokens, which it does for every prompt. A second, narrow pass over a file that
     * {@link #read} accepted; empty when the file has no token types.
     *
     * @throws GgufException if the tables are malformed
     * @throws IOException   if the file cannot be read
     */
    public static List<String> controlTokens(Path path) throws GgufException, IOException {
        return GgufReader.controlTokens(path);
    }

    /**
     * The version of the checks {@link #read} makes: a digest of the checker's own class files, so any
     * change to what is checked (a new rule after a llama.cpp parser bug, a fix) is a new version without
     * anyone remembering to bump a number. Empty when the class files cannot be read (then nothing can
     * vouch for an earlier check).
     */
    public static Optional<String> checkerVersion() {
        return CheckerVersion.VALUE;
    }

    /** {@code general.architecture}, e.g. {@code llama} or {@code gemma3}. */
    public String architecture() {
        return string("general.architecture").orElseThrow();
    }

    public Optional<String> string(String key) {
        return value(key).map(MetadataValue::value).filter(String.class::isInstance).map(String.class::cast);
    }

    /** Any integer-typed value (signed or unsigned, any width). */
    public OptionalLong integer(String key) {
        return value(key).map(MetadataValue::value).filter(Long.class::isInstance)
                .map(v -> OptionalLong.of((Long) v)).orElse(OptionalLong.empty());
    }

    public Optional<Boolean> bool(String key) {
        return value(key).map(MetadataValue::value).filter(Boolean.class::isInstance).map(Boolean.class::cast);
    }

    public Optional<MetadataValue> value(String key) {
        return Optional.ofNullable(metadata.get(key));
    }

    /** Total bytes of tensor data (what the weights occupy in memory when mapped). */
    public long tensorBytes() {
        return tensors.stream().mapToLong(TensorInfo::byteSize).sum();
    }

    /**
     * One metadata entry.
     *
     * @param type         the value's type
     * @param value        the value: {@link Long} for integers, {@link Double} for floats, {@link Boolean},
     *                     {@link String}, a {@link List} for arrays of up to {@link GgufReader#MAX_KEPT_ARRAY}
     *                     elements; {@code null} where the value was checked but not kept (long strings,
     *                     large arrays)
     * @param elementType  for arrays, the element type; otherwise {@code null}
     * @param length       for arrays, the element count; for strings, the byte length; otherwise 1
     * @param longestElement for arrays of strings, the byte length of the longest (a vocabulary's longest token);
     *                       otherwise 0
     */
    public record MetadataValue(GgufValueType type, Object value, GgufValueType elementType, long length, long longestElement) {
    }

    /**
     * One tensor.
     *
     * @param name       tensor name
     * @param dimensions sizes, innermost first
     * @param type       element type
     * @param offset     offset of the data relative to {@link GgufFile#dataOffset()}
     * @param byteSize   size of the data in bytes
     */
    public record TensorInfo(String name, long[] dimensions, GgmlType type, long offset, long byteSize) {
    }
}
