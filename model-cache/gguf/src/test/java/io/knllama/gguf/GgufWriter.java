package io.knllama.gguf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF v3 files for tests: metadata of every type and F32 tensors, laid out the way
 * llama.cpp expects (tensor data in table order, each padded to the alignment).
 */
public final class GgufWriter {

    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private int alignment = 32;

    private record Entry(GgufValueType type, Object value, GgufValueType elementType) {
    }

    private record Tensor(String name, long[] dims, float[] data) {
    }

    public GgufWriter alignment(int alignment) {
        this.alignment = alignment;
        return putU32("general.alignment", alignment);
    }

    public GgufWriter putString(String key, String value) {
        return put(key, GgufValueType.STRING, value, null);
    }

    public GgufWriter putU32(String key, long value) {
        return put(key, GgufValueType.UINT32, value, null);
    }

    public GgufWriter putI32(String key, int value) {
        return put(key, GgufValueType.INT32, (long) value, null);
    }

    public GgufWriter putF32(String key, float value) {
        return put(key, GgufValueType.FLOAT32, (double) value, null);
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValueType.BOOL, value, null);
    }

    public GgufWriter putStrings(String key, List<String> values) {
        return put(key, GgufValueType.ARRAY, List.copyOf(values), GgufValueType.STRING);
    }

    public GgufWriter putF32s(String key, float[] values) {
        List<Object> list = new ArrayList<>();
        for (float v : values) {
            list.add((double) v);
        }
        return put(key, GgufValueType.ARRAY, list, GgufValueType.FLOAT32);
    }

    public GgufWriter putI32s(String key, int[] values) {
        List<Object> list = new ArrayList<>();
        for (int v : values) {
            list.add((long) v);
        }
        return put(key, GgufValueType.ARRAY, list, GgufValueType.INT32);
    }

    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    private GgufWriter put(String key, GgufValueType type, Object value, GgufValueType elementType) {
        metadata.put(key, new Entry(type, value, elementType));
        return this;
    }

    /** Adds an F32 tensor; {@code dims} innermost first, as GGUF stores them. */
    public GgufWriter tensor(String name, float[] data, long... dims) {
        long elements = 1;
        for (long d : dims) {
            elements *= d;
        }
        if (elements != data.length) {
            throw new IllegalArgumentException(name + ": " + data.length + " values for " + elements + " elements");
        }
        tensors.add(new Tensor(name, dims.clone(), data));
        return this;
    }

    public Path write(Path path) throws IOException {
        Files.write(path, toBytes());
        return path;
    }

    public byte[] toBytes() {
        Out out = new Out();
        out.i32(0x46554747);
        out.i32(3);
        out.i64(tensors.size());
        out.i64(metadata.size());
        metadata.forEach((key, entry) -> {
            out.string(key);
            out.i32(entry.type().id());
            if (entry.type() == GgufValueType.ARRAY) {
                List<?> values = (List<?>) entry.value();
                out.i32(entry.elementType().id());
                out.i64(values.size());
                values.forEach(v -> out.scalar(entry.elementType(), v));
            } else {
                out.scalar(entry.type(), entry.value());
            }
        });
        long offset = 0;
        for (Tensor tensor : tensors) {
            out.string(tensor.name());
            out.i32(tensor.dims().length);
            for (long d : tensor.dims()) {
                out.i64(d);
            }
            out.i32(GgmlType.F32.id());
            out.i64(offset);
            offset = pad(offset + 4L * tensor.data().length);
        }
        out.padTo(pad(out.size()));
        for (Tensor tensor : tensors) {
            ByteBuffer data = ByteBuffer.allocate(4 * tensor.data().length).order(ByteOrder.LITTLE_ENDIAN);
            data.asFloatBuffer().put(tensor.data());
            out.write(data.array(), 0, data.capacity());
            out.padTo(pad(out.size()));
        }
        return out.toByteArray();
    }

    private long pad(long value) {
        return (value + alignment - 1) / alignment * alignment;
    }

    private static final class Out extends ByteArrayOutputStream {
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void i32(int v) {
            write(scratch.clear().putInt(v).array(), 0, 4);
        }

        void i64(long v) {
            write(scratch.clear().putLong(v).array(), 0, 8);
        }

        void string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            i64(bytes.length);
            write(bytes, 0, bytes.length);
        }

        void scalar(GgufValueType type, Object v) {
            switch (type) {
                case UINT8, INT8 -> write(((Long) v).intValue());
                case BOOL -> write((Boolean) v ? 1 : 0);
                case UINT16, INT16 -> write(scratch.clear().putShort(((Long) v).shortValue()).array(), 0, 2);
                case UINT32, INT32 -> i32(((Long) v).intValue());
                case UINT64, INT64 -> i64((Long) v);
                case FLOAT32 -> i32(Float.floatToIntBits(((Double) v).floatValue()));
                case FLOAT64 -> i64(Double.doubleToLongBits((Double) v));
                case STRING -> string((String) v);
                case ARRAY -> throw new IllegalArgumentException("nested arrays");
            }
        }

        void padTo(long size) {
            while (size() < size) {
                write(0);
            }
        }
    }
}
