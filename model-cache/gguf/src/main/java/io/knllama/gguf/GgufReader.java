package io.knllama.gguf;

import io.knllama.gguf.GgufFile.MetadataValue;
import io.knllama.gguf.GgufFile.TensorInfo;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses and checks a GGUF file. Every count and length read from the file is checked against the
 * bytes remaining before anything is allocated or looped over, so a hostile header costs at most a
 * pass over the file's own bytes.
 */
final class GgufReader {

    static final int MAX_KEPT_ARRAY = 1024;
    static final int MAX_KEPT_STRING = 1 << 20;
    static final int MAX_KEY_BYTES = 1 << 16;
    /** ggml's GGML_MAX_NAME is 64 bytes including the terminating NUL. */
    static final int MAX_TENSOR_NAME_BYTES = 63;
    /** ggml's GGML_MAX_DIMS. */
    static final int MAX_DIMS = 4;

    private static final int MAGIC = 0x46554747; // "GGUF", read little-endian
    private static final int DEFAULT_ALIGNMENT = 32;
    private static final int BUFFER_BYTES = MAX_KEPT_STRING + 4096;
    /** The smallest possible key-value pair: empty key (8), type (4), one byte of value. */
    private static final int MIN_KV_BYTES = 13;
    /** The smallest possible tensor entry: name length (8), one name byte, dims (4), one dim (8), type (4), offset (8). */
    private static final int MIN_TENSOR_INFO_BYTES = 33;
    private static final String TOKENS_KEY = "tokenizer.ggml.tokens";
    private static final String TOKEN_TYPES_KEY = "tokenizer.ggml.token_type";
    /** llama.cpp's token types whose text its tokenizer turns into the token only when asked to parse specials. */
    private static final int TYPE_UNKNOWN = 2;
    private static final int TYPE_CONTROL = 3;
    /**
     * Texts llama.cpp b4916 makes control tokens at load whatever their type in the file (llama-vocab.cpp: the
     * end-of-turn, end-of-generation and fill-in-the-middle tokens it recognises by text).
     */
    private static final Set<String> MARKED_CONTROL = Set.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
            "<\uFF5Cend\u2581of\u2581sentence\uFF5C>",
            "<|fim_prefix|>", "<fim-prefix>", "<\uFF5Cfim\u2581begin\uFF5C>", "<PRE>", "\u2581<PRE>",
            "<|fim_suffix|>", "<fim-suffix>", "<\uFF5Cfim\u2581hole\uFF5C>", "<SUF>", "\u2581<SUF>",
            "<|fim_middle|>", "<fim-middle>", "<\uFF5Cfim\u2581end\uFF5C>", "<MID>", "\u2581<MID>",
            "<|fim_pad|>", "<fim-pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<|fim_sep|>", "<|file_sep|>");
    private static final long LONGEST_MARKED_CONTROL =
            MARKED_CONTROL.stream().mapToLong(t -> t.getBytes(StandardCharsets.UTF_8).length).max().orElse(0);

    private final FileChannel channel;
    private final long size;
    private final GgufFile.Checks checks;
    private final ByteBuffer buffer;
    /** File offset of {@code buffer}'s index 0. */
    private long bufferStart;

    private GgufReader(FileChannel channel, long size, GgufFile.Checks checks) {
        this.channel = channel;
        this.size = size;
        this.checks = checks;
        // No read is longer than the file, so a small file needs no more: the fuzzer reads tens of
        // thousands of small files a second, and a fixed megabyte each is most of its cost.
        this.buffer = ByteBuffer.allocate((int) Math.min(BUFFER_BYTES, size)).order(ByteOrder.LITTLE_ENDIAN);
        buffer.limit(0);
    }

    static GgufFile read(Path path, GgufFile.Checks checks) throws GgufException, IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            GgufFile file = new GgufReader(channel, channel.size(), checks).readFile();
            LlamaCppChecks.check(file);
            return file;
        }
    }

    static List<String> controlTokens(Path path) throws GgufException, IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            return new GgufReader(channel, channel.size(), GgufFile.Checks.ALL_BUT_LARGE_ARRAYS).readControlTokens();
        }
    }

    /**
     * A second, narrow pass over the metadata: the token types, then the texts of the vocabulary entries they mark
     * as control or unknown, read from where the vocabulary starts. Bounds are checked as in {@link #readFile}.
     */
    private List<String> readControlTokens() throws GgufException, IOException {
        i32(); // magic and version: checked by the full read this pass follows
        i32();
        u64("tensor count");
        long kvCount = u64("metadata count");
        bound(kvCount, MIN_KV_BYTES, "metadata count");
        long tokensAt = -1;
        int[] types = null;
        for (long i = 0; i < kvCount; i++) {
            String key = string(MAX_KEY_BYTES, "metadata key");
            GgufValueType type = valueType();
            if (type == GgufValueType.ARRAY && TOKENS_KEY.equals(key)) {
                tokensAt = position();
            }
            if (type == GgufValueType.ARRAY && TOKEN_TYPES_KEY.equals(key)) {
                types = int32s(key);
            } else {
                value(type, key);
            }
        }
        if (tokensAt < 0 || types == null) {
            return List.of();
        }
        seek(tokensAt);
        if (valueType() != GgufValueType.STRING) {
            return List.of();
        }
        long count = u64("array length of '" + TOKENS_KEY + "'");
        if (count > types.length) {
            throw new GgufException("'%s' types %d of the %d vocabulary entries".formatted(TOKEN_TYPES_KEY, types.length, count));
        }
        List<String> control = new ArrayList<>();
        for (int id = 0; id < count; id++) {
            long length = peekU64();
            boolean typed = types[id] == TYPE_CONTROL || types[id] == TYPE_UNKNOWN;
            if ((typed || length <= LONGEST_MARKED_CONTROL) && length <= MAX_KEPT_STRING) {
                String text = string(MAX_KEPT_STRING, TOKENS_KEY);
                if (!text.isEmpty() && (typed || MARKED_CONTROL.contains(text))) {
                    control.add(text);
                }
            } else {
                skipString(TOKENS_KEY);
            }
        }
        return List.copyOf(control);
    }

    private int[] int32s(String key) throws GgufException, IOException {
        GgufValueType elementType = valueType();
        long count = u64("array length of '" + key + "'");
        if (elementType != GgufValueType.INT32) {
            throw new GgufException("metadata '%s' holds %s, not INT32".formatted(key, elementType));
        }
        bound(count, 4, "array length of '" + key + "'");
        if (count > Integer.MAX_VALUE - 8) {
            throw new GgufException("metadata '%s' has %d entries, more than a vocabulary can".formatted(key, count));
        }
        int[] values = new int[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = i32();
        }
        return values;
    }

    private void seek(long offset) {
        bufferStart = offset;
        buffer.clear().limit(0);
    }

    private GgufFile readFile() throws GgufException, IOException {
        if (size < 24) {
            throw new GgufException("not a GGUF file: only " + size + " bytes (the header alone is 24)");
        }
        int magic = i32();
        if (magic != MAGIC) {
            throw new GgufException("not a GGUF file: magic is 0x%08x, expected 0x%08x (\"GGUF\")".formatted(magic, MAGIC));
        }
        int version = i32();
        if (version != 2 && version != 3) {
            throw new GgufException("unsupported GGUF version " + Integer.toUnsignedString(version) + " (2 and 3 are supported)");
        }
        long tensorCount = u64("tensor count");
        long kvCount = u64("metadata count");
        bound(kvCount, MIN_KV_BYTES, "metadata count");

        Map<String, MetadataValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long at = position();
            String key = string(MAX_KEY_BYTES, "metadata key");
            GgufValueType type = valueType();
            MetadataValue value = value(type, key);
            if (metadata.putIfAbsent(key, value) != null) {
                throw new GgufException("duplicate metadata key '%s' at offset %d".formatted(key, at));
            }
        }

        int alignment = alignment(metadata);
        bound(tensorCount, MIN_TENSOR_INFO_BYTES, "tensor count");
        List<TensorInfo> tensors = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            TensorInfo tensor = tensorInfo();
            if (!names.add(tensor.name())) {
                throw new GgufException("duplicate tensor name '" + tensor.name() + "'");
            }
            tensors.add(tensor);
        }

        long dataOffset = pad(position(), alignment);
        checkTensorData(tensors, dataOffset, alignment);
        return new GgufFile(version, size, alignment, dataOffset,
                Collections.unmodifiableMap(metadata), List.copyOf(tensors));
    }

    private void checkTensorData(List<TensorInfo> tensors, long dataOffset, int alignment) throws GgufException {
        long expected = 0;
        for (TensorInfo tensor : tensors) {
            // llama.cpp requires tensor data in table order, each one padded to the alignment.
            if (tensor.offset() != expected) {
                throw new GgufException("tensor '%s' has data offset %s, expected %d"
                        .formatted(tensor.name(), Long.toUnsignedString(tensor.offset()), expected));
            }
            long end = dataOffset + tensor.offset() + tensor.byteSize();
            if (end > size || end < 0) {
                throw new GgufException(("tensor '%s' ends at byte %d but the file has only %d bytes: "
                        + "the file is truncated (an interrupted download?)").formatted(tensor.name(), end, size));
            }
            expected = pad(expected + tensor.byteSize(), alignment);
        }
    }

    private TensorInfo tensorInfo() throws GgufException, IOException {
        long at = position();
        long nameLength = u64("tensor name length");
        if (nameLength > MAX_TENSOR_NAME_BYTES) {
            throw new GgufException("tensor name at offset %d is %s bytes long; ggml allows %d"
                    .formatted(at, Long.toUnsignedString(nameLength), MAX_TENSOR_NAME_BYTES));
        }
        String name = utf8(bytes((int) nameLength), "tensor name");
        long dimCount = u32();
        if (dimCount > MAX_DIMS) {
            throw new GgufException("tensor '%s' has %d dimensions; ggml allows %d".formatted(name, dimCount, MAX_DIMS));
        }
        long[] dims = new long[(int) dimCount];
        long elements = 1;
        for (int d = 0; d < dims.length; d++) {
            dims[d] = i64();
            if (dims[d] <= 0) {
                throw new GgufException("tensor '%s' dimension %d is %s; dimensions must be positive"
                        .formatted(name, d, Long.toUnsignedString(dims[d])));
            }
            elements = multiply(elements, dims[d], name);
        }
        long typeId = u32();
        GgmlType type = GgmlType.byId(typeId).orElseThrow(() -> new GgufException(
                ("tensor '%s' has element type %d, which llama.cpp b4916 does not know "
                        + "(a newer quantization format?)").formatted(name, typeId)));
        long rowLength = dims.length == 0 ? 1 : dims[0];
        if (rowLength % type.blockSize() != 0) {
            throw new GgufException("tensor '%s' row length %d is not a multiple of %s's block size %d"
                    .formatted(name, rowLength, type, type.blockSize()));
        }
        long byteSize = multiply(elements / type.blockSize(), type.typeSize(), name);
        long offset = i64();
        return new TensorInfo(name, dims, type, offset, byteSize);
    }

    private static long multiply(long a, long b, String tensor) throws GgufException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException overflow) {
            throw new GgufException("tensor '" + tensor + "' is impossibly large (its size overflows 64 bits)");
        }
    }

    private MetadataValue value(GgufValueType type, String key) throws GgufException, IOException {
        return switch (type) {
            case STRING -> {
                long length = peekU64();
                String text = length <= MAX_KEPT_STRING ? string(MAX_KEPT_STRING, key) : skipString(key);
                yield new MetadataValue(type, text, null, length, 0);
            }
            case ARRAY -> array(key);
            default -> new MetadataValue(type, scalar(type), null, 1, 0);
        };
    }

    private MetadataValue array(String key) throws GgufException, IOException {
        GgufValueType elementType = valueType();
        if (elementType == GgufValueType.ARRAY) {
            throw new GgufException("metadata '" + key + "' is an array of arrays, which GGUF readers do not support");
        }
        long count = u64("array length of '" + key + "'");
        boolean keep = count <= MAX_KEPT_ARRAY;
        List<Object> values = keep ? new ArrayList<>((int) count) : null;
        long longest = 0;
        if (elementType == GgufValueType.STRING && !keep && checks == GgufFile.Checks.ALL_BUT_LARGE_ARRAYS) {
            bound(count, 8, "array length of '" + key + "'");
            longest = skipStrings(count, key);
        } else if (elementType == GgufValueType.STRING) {
            bound(count, 8, "array length of '" + key + "'");
            Set<String> seen = TOKENS_KEY.equals(key) ? new HashSet<>() : null;
            for (long i = 0; i < count; i++) {
                longest = Math.max(longest, peekU64());
                String element = peekU64() <= MAX_KEPT_STRING ? string(MAX_KEPT_STRING, key) : skipString(key);
                if (seen != null) {
                    checkUniqueToken(seen, element, i);
                }
                if (keep) {
                    values.add(element);
                }
            }
        } else {
            bound(count, elementType.size(), "array length of '" + key + "'");
            if (keep) {
                for (long i = 0; i < count; i++) {
                    values.add(scalar(elementType));
                }
            } else {
                skip(count * elementType.size());
            }
        }
        return new MetadataValue(GgufValueType.ARRAY, keep ? Collections.unmodifiableList(values) : null, elementType, count, longest);
    }

    /** llama.cpp asserts that every vocabulary entry is distinct, renaming empty ones first. */
    private static void checkUniqueToken(Set<String> seen, String token, long index) throws GgufException {
        String effective = token == null ? "\0long:" + index : token.isEmpty() ? "[EMPTY_" + index + "]" : token;
        if (!seen.add(effective)) {
            throw new GgufException("vocabulary entry %d repeats an earlier entry; llama.cpp would abort on it".formatted(index));
        }
    }

    private Object scalar(GgufValueType type) throws GgufException, IOException {
        return switch (type) {
            case UINT8 -> (long) (u8());
            case INT8 -> (long) (byte) u8();
            case UINT16 -> (long) (i16() & 0xffff);
            case INT16 -> (long) i16();
            case UINT32 -> u32();
            case INT32 -> (long) i32();
            case UINT64, INT64 -> i64();
            case FLOAT32 -> (double) Float.intBitsToFloat(i32());
            case FLOAT64 -> Double.longBitsToDouble(i64());
            case BOOL -> {
                int b = u8();
                if (b > 1) {
                    throw new GgufException("boolean at offset " + (position() - 1) + " is " + b + ", not 0 or 1");
                }
                yield b == 1;
            }
            case STRING, ARRAY -> throw new IllegalStateException("not a scalar: " + type);
        };
    }

    private int alignment(Map<String, MetadataValue> metadata) throws GgufException {
        MetadataValue value = metadata.get("general.alignment");
        if (value == null) {
            return DEFAULT_ALIGNMENT;
        }
        if (value.type() != GgufValueType.UINT32) {
            throw new GgufException("general.alignment must be a uint32, found " + value.type());
        }
        long alignment = (Long) value.value();
        if (alignment == 0 || Long.bitCount(alignment) != 1 || alignment > (1 << 20)) {
            throw new GgufException("general.alignment is " + alignment + "; it must be a power of two");
        }
        return (int) alignment;
    }

    private GgufValueType valueType() throws GgufException, IOException {
        long at = position();
        long id = u32();
        return GgufValueType.byId(id).orElseThrow(() ->
                new GgufException("unknown metadata value type " + id + " at offset " + at));
    }

    /** Fails unless {@code count} items of at least {@code minBytes} each could fit in the rest of the file. */
    private void bound(long count, long minBytes, String what) throws GgufException {
        long remaining = size - position();
        if (count < 0 || (minBytes > 0 && count > remaining / minBytes)) {
            throw new GgufException("%s is %s, more than the remaining %d bytes of the file can hold (truncated or corrupt)"
                    .formatted(what, Long.toUnsignedString(count), remaining));
        }
    }

    private String string(int maxBytes, String what) throws GgufException, IOException {
        long at = position();
        long length = length(what);
        if (length > maxBytes) {
            throw new GgufException("%s at offset %d is %s bytes long; at most %d are accepted"
                    .formatted(what, at, Long.toUnsignedString(length), maxBytes));
        }
        return utf8(bytes((int) length), what);
    }

    /**
     * Skips {@code count} strings, checking only that each lies inside the file. One tight loop: it runs
     * once per vocabulary entry on the function's cold start, mostly before the JIT has compiled anything.
     */
    private long skipStrings(long count, String what) throws GgufException, IOException {
        long longest = 0;
        for (long i = 0; i < count; i++) {
            if (buffer.remaining() < 8) {
                fill(8);
            }
            long length = buffer.getLong();
            longest = Math.max(longest, length);
            if (length >= 0 && length <= buffer.remaining()) {
                buffer.position(buffer.position() + (int) length);
            } else if (length < 0) {
                throw new GgufException("length of %s is %s, which no file can hold".formatted(what, Long.toUnsignedString(length)));
            } else {
                skip(length);
            }
        }
        return longest;
    }

    /** Skips a string too long to keep, after checking it lies inside the file. */
    private String skipString(String what) throws GgufException, IOException {
        long length = length(what);
        skip(length);
        return null;
    }

    /**
     * Decodes strictly. Encoding always yields well-formed UTF-8, and well-formed UTF-8 survives a decode
     * and encode unchanged, so bytes that do not come back as they went in were malformed (the lenient
     * decoder turned them into U+FFFD). Several times faster than a reporting {@code CharsetDecoder} per
     * string on a vocabulary of 262k tokens, which matters on the function's cold start.
     */
    private static String utf8(byte[] bytes, String what) throws GgufException {
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (!Arrays.equals(text.getBytes(StandardCharsets.UTF_8), bytes)) {
            throw new GgufException(what + " is not valid UTF-8");
        }
        return text;
    }

    /** A string's length field; the message is built only on failure, as this runs once per vocabulary entry. */
    private long length(String what) throws GgufException, IOException {
        long value = i64();
        if (value < 0) {
            throw new GgufException("length of %s is %s, which no file can hold".formatted(what, Long.toUnsignedString(value)));
        }
        return value;
    }

    private long u64(String what) throws GgufException, IOException {
        long value = i64();
        if (value < 0) {
            throw new GgufException("%s is %s, which no file can hold".formatted(what, Long.toUnsignedString(value)));
        }
        return value;
    }

    private long peekU64() throws GgufException, IOException {
        fill(8);
        return buffer.getLong(buffer.position());
    }

    private int u8() throws GgufException, IOException {
        fill(1);
        return buffer.get() & 0xff;
    }

    private short i16() throws GgufException, IOException {
        fill(2);
        return buffer.getShort();
    }

    private int i32() throws GgufException, IOException {
        fill(4);
        return buffer.getInt();
    }

    private long u32() throws GgufException, IOException {
        return i32() & 0xffffffffL;
    }

    private long i64() throws GgufException, IOException {
        fill(8);
        return buffer.getLong();
    }

    private byte[] bytes(int length) throws GgufException, IOException {
        fill(length);
        byte[] bytes = new byte[length];
        buffer.get(bytes);
        return bytes;
    }

    private void skip(long length) throws GgufException, IOException {
        requireAvailable(length);
        if (length <= buffer.remaining()) {
            buffer.position(buffer.position() + (int) length);
        } else {
            bufferStart = position() + length;
            buffer.clear().limit(0);
        }
    }

    private long position() {
        return bufferStart + buffer.position();
    }

    private void requireAvailable(long length) throws GgufException {
        long at = position();
        if (length > size - at) {
            throw new GgufException("unexpected end of file at offset %d: %s more bytes declared, %d present (truncated?)"
                    .formatted(at, Long.toUnsignedString(length), size - at));
        }
    }

    /** Makes {@code length} (at most the buffer's capacity) bytes readable from the buffer. */
    private void fill(int length) throws GgufException, IOException {
        if (buffer.remaining() >= length) {
            return;
        }
        requireAvailable(length);
        long at = position();
        buffer.compact(); // unread bytes move to index 0, which is now the current position
        bufferStart = at;
        while (buffer.position() < length) {
            int read = channel.read(buffer, at + buffer.position());
            if (read < 0) {
                throw new EOFException("file shrank while being read");
            }
        }
        buffer.flip();
    }

    private static long pad(long value, int alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }
}
