package io.knllama.gguf;

import java.util.Optional;

/** Metadata value types of the GGUF format, by their on-disk id. */
public enum GgufValueType {
    UINT8(1),
    INT8(1),
    UINT16(2),
    INT16(2),
    UINT32(4),
    INT32(4),
    FLOAT32(4),
    BOOL(1),
    STRING(-1),
    ARRAY(-1),
    UINT64(8),
    INT64(8),
    FLOAT64(8);

    private final int size;

    GgufValueType(int size) {
        this.size = size;
    }

    public static Optional<GgufValueType> byId(long id) {
        GgufValueType[] all = values();
        return id >= 0 && id < all.length ? Optional.of(all[(int) id]) : Optional.empty();
    }

    public int id() {
        return ordinal();
    }

    /** Fixed size in bytes, or -1 for strings and arrays. */
    public int size() {
        return size;
    }
}
