package io.knllama.gguf;

import io.knllama.gguf.GgufFile.MetadataValue;

/**
 * Checks on metadata that llama.cpp trusts: it reads the tokenizer tables with unchecked array
 * accesses and divides by some hyper-parameters, so a wrong type or a zero there crashes the
 * process instead of failing the load.
 */
final class LlamaCppChecks {

    private static final long MAX_HPARAM = 1L << 24;

    private LlamaCppChecks() {
    }

    static void check(GgufFile file) throws GgufException {
        MetadataValue architecture = file.metadata().get("general.architecture");
        if (architecture == null || architecture.type() != GgufValueType.STRING || architecture.value() == null) {
            throw new GgufException("metadata 'general.architecture' is missing or not a string: not a llama.cpp model");
        }
        checkTokenizer(file);
        String arch = (String) architecture.value();
        for (String key : new String[] {"block_count", "embedding_length", "attention.head_count", "context_length"}) {
            checkPositive(file, arch + "." + key);
        }
    }

    private static void checkTokenizer(GgufFile file) throws GgufException {
        MetadataValue tokens = file.metadata().get("tokenizer.ggml.tokens");
        if (tokens == null) {
            return;
        }
        requireArray(tokens, "tokenizer.ggml.tokens", GgufValueType.STRING);
        requireArray(file, "tokenizer.ggml.scores", GgufValueType.FLOAT32, tokens.length());
        requireArray(file, "tokenizer.ggml.token_type", GgufValueType.INT32, tokens.length());
        MetadataValue merges = file.metadata().get("tokenizer.ggml.merges");
        if (merges != null) {
            requireArray(merges, "tokenizer.ggml.merges", GgufValueType.STRING);
        }
    }

    private static void requireArray(GgufFile file, String key, GgufValueType elementType, long minLength)
            throws GgufException {
        MetadataValue value = file.metadata().get(key);
        if (value == null) {
            return;
        }
        requireArray(value, key, elementType);
        if (value.length() < minLength) {
            throw new GgufException("metadata '%s' has %d entries for %d tokens".formatted(key, value.length(), minLength));
        }
    }

    private static void requireArray(MetadataValue value, String key, GgufValueType elementType) throws GgufException {
        if (value.type() != GgufValueType.ARRAY || value.elementType() != elementType) {
            throw new GgufException("metadata '%s' must be an array of %s, found %s".formatted(key, elementType,
                    value.type() == GgufValueType.ARRAY ? "an array of " + value.elementType() : value.type()));
        }
    }

    /** Scalar hyper-parameters must be in range; per-layer arrays (some architectures use them) are left to llama.cpp. */
    private static void checkPositive(GgufFile file, String key) throws GgufException {
        MetadataValue value = file.metadata().get(key);
        if (value == null || value.type() == GgufValueType.ARRAY) {
            return;
        }
        if (!(value.value() instanceof Long number) || number <= 0 || number > MAX_HPARAM) {
            throw new GgufException("metadata '%s' is %s; it must be a positive integer of at most %d"
                    .formatted(key, value.value(), MAX_HPARAM));
        }
    }
}
