package io.knllama.gguf;

import java.util.List;

/**
 * Valid GGUF files of a few hundred bytes each, the fuzzer's starting points: small enough that
 * libFuzzer's mutations reach every field, varied enough to cover each branch of a well-formed file
 * (tokenizer tables, custom alignment, several tensors, long strings).
 */
final class GgufSeeds {

    private GgufSeeds() {
    }

    static List<byte[]> all() {
        return List.of(minimal().toBytes(), withTokenizer().toBytes(), aligned().toBytes(), withManyKinds().toBytes());
    }

    /** Only what {@link GgufFile#read} requires: an architecture and one tensor. */
    static GgufWriter minimal() {
        return new GgufWriter()
                .putString("general.architecture", "llama")
                .tensor("token_embd.weight", new float[] {1, 2, 3, 4}, 4);
    }

    static GgufWriter withTokenizer() {
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "a", "b", "");
        return hyperParameters(new GgufWriter())
                .putString("tokenizer.ggml.model", "llama")
                .putStrings("tokenizer.ggml.tokens", tokens)
                .putF32s("tokenizer.ggml.scores", new float[] {0, 0, 0, -1, -2, -3})
                .putI32s("tokenizer.ggml.token_type", new int[] {2, 3, 3, 1, 1, 1})
                .putStrings("tokenizer.ggml.merges", List.of("a b"))
                .tensor("token_embd.weight", new float[2 * tokens.size()], 2, tokens.size());
    }

    static GgufWriter aligned() {
        return hyperParameters(new GgufWriter().alignment(64))
                .tensor("a", new float[] {1}, 1)
                .tensor("b", new float[] {1, 2, 3}, 3, 1, 1);
    }

    static GgufWriter withManyKinds() {
        return hyperParameters(new GgufWriter())
                .putBool("general.flag", true)
                .putF32("general.rate", 0.5f)
                .putI32("general.signed", -7)
                .putString("tokenizer.chat_template", "{{ messages }}")
                .tensor("x", new float[] {0, 0}, 2)
                .tensor("y", new float[] {0, 0, 0, 0}, 2, 2);
    }

    private static GgufWriter hyperParameters(GgufWriter writer) {
        return writer.putString("general.architecture", "llama")
                .putU32("llama.block_count", 1)
                .putU32("llama.embedding_length", 2)
                .putU32("llama.attention.head_count", 1)
                .putU32("llama.context_length", 8);
    }
}
