package io.knllama.gguf;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * A llama-architecture GGUF small enough to write in a test (about half a megabyte) that llama.cpp
 * loads and runs: 2 layers, width 64, a SentencePiece vocabulary of a few hundred tokens (byte
 * fallback included) and a ChatML chat template.
 *
 * <p>By default the weights are random, so greedy decoding produces a fixed but meaningless token
 * stream (byte tokens included, which exercises UTF-8 reassembly). With {@link Builder#script} the
 * weights are arranged so that greedy decoding follows a script: after any token outside the script
 * the model emits the script's first token, after each script token the next one. A script ending in
 * {@link #EOS} therefore ends generation with a natural stop; one that does not repeats until the
 * token limit. Each script step is exactly one token.
 */
public final class TinyModel {

    public static final String BOS = "<s>";
    public static final String EOS = "</s>";
    public static final int EMBEDDING = 64;
    public static final int LAYERS = 2;
    public static final int HEADS = 4;
    public static final int FFN = 128;
    public static final int TRAINED_CONTEXT = 4096;

    static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static final String[] WORDS = {
        "hello", "world", "the", "is", "of", "and", "to", "in", "it", "you", "I", "what", "capital",
        "France", "Paris", "yes", "no", "sea", "sky", "blue", "red", "green", "one", "two", "three", "four",
        "five", "cat", "dog", "knative", "llama", "model", "token", "stream", "event", "batch", "fast", "slow",
        "answer", "question", "please", "thank", "JSON", "true", "false", "null", "ok", "done", "stop",
    };

    private TinyModel() {
    }

    /** The vocabulary, in id order. */
    public static List<String> vocabulary() {
        List<String> tokens = new ArrayList<>(List.of("<unk>", BOS, EOS, "<|im_start|>", "<|im_end|>"));
        for (int b = 0; b < 256; b++) {
            tokens.add("<0x%02X>".formatted(b));
        }
        tokens.add("\u2581");
        for (char c = 'a'; c <= 'z'; c++) {
            tokens.add(String.valueOf(c));
            tokens.add("\u2581" + c);
        }
        for (String word : WORDS) {
            tokens.add("\u2581" + word);
        }
        for (String punctuation : new String[] {".", ",", "?", "!", ":", "{", "}", "\"", "\u2581{", "\u2581\""}) {
            tokens.add(punctuation);
        }
        return List.copyOf(tokens);
    }

    /** Id of a vocabulary entry; words are given with their SentencePiece space marker, e.g. {@code "▁hello"}. */
    public static int tokenId(String token) {
        int id = vocabulary().indexOf(token);
        if (id < 0) {
            throw new IllegalArgumentException("not in the tiny vocabulary: " + token);
        }
        return id;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Writes the default (random-weight) model. */
    public static Path write(Path path) throws IOException {
        return builder().build().write(path);
    }

    /**
     * The default model with a vocabulary of {@code size} entries (filler tokens after the usual ones): more
     * than the reader keeps, so it is the per-entry pass that {@link GgufFile.Checks#ALL_BUT_LARGE_ARRAYS}
     * skips. With {@code repeat}, entry {@code <0x0B>} is written as a second {@code <0x0A>} (same length, so
     * the file has the same size), a vocabulary llama.cpp aborts on and only the full check refuses.
     */
    public static GgufWriter withLargeVocabulary(int size, boolean repeat) {
        List<String> tokens = new ArrayList<>(vocabulary());
        if (size <= tokens.size()) {
            throw new IllegalArgumentException("a large vocabulary has more than " + tokens.size() + " entries");
        }
        for (int i = tokens.size(); i < size; i++) {
            tokens.add("<fill_%06d>".formatted(i));
        }
        if (repeat) {
            tokens.set(tokens.indexOf("<0x0B>"), "<0x0A>");
        }
        float[] scores = new float[size];
        int[] types = new int[size];
        java.util.Arrays.fill(types, 1);
        return builder().build().putStrings("tokenizer.ggml.tokens", tokens).putF32s("tokenizer.ggml.scores", scores)
                .putI32s("tokenizer.ggml.token_type", types);
    }

    public static final class Builder {
        private long seed = 42;
        private List<String> script = List.of();
        private String name = "tiny-llama";

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Tokens greedy decoding should produce, in order; see the class comment. At most {@value #MAX_SCRIPT} tokens. */
        public Builder script(String... tokens) {
            if (tokens.length > MAX_SCRIPT) {
                throw new IllegalArgumentException("at most " + MAX_SCRIPT + " script tokens");
            }
            this.script = List.of(tokens);
            return this;
        }

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        private static final int MAX_SCRIPT = 16;

        public GgufWriter build() {
            List<String> vocabulary = vocabulary();
            int vocab = vocabulary.size();
            SplittableRandom random = new SplittableRandom(seed);
            Random gaussian = new Random(seed);
            GgufWriter gguf = new GgufWriter()
                    .putString("general.architecture", "llama")
                    .putString("general.name", name)
                    .putU32("general.file_type", 0)
                    .putU32("llama.context_length", TRAINED_CONTEXT)
                    .putU32("llama.embedding_length", EMBEDDING)
                    .putU32("llama.block_count", LAYERS)
                    .putU32("llama.feed_forward_length", FFN)
                    .putU32("llama.attention.head_count", HEADS)
                    .putU32("llama.attention.head_count_kv", HEADS)
                    .putU32("llama.rope.dimension_count", EMBEDDING / HEADS)
                    .putF32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                    .putString("tokenizer.ggml.model", "llama")
                    .putStrings("tokenizer.ggml.tokens", vocabulary)
                    .putF32s("tokenizer.ggml.scores", scores(vocabulary))
                    .putI32s("tokenizer.ggml.token_type", tokenTypes(vocabulary))
                    .putU32("tokenizer.ggml.unknown_token_id", 0)
                    .putU32("tokenizer.ggml.bos_token_id", 1)
                    .putU32("tokenizer.ggml.eos_token_id", 2)
                    .putBool("tokenizer.ggml.add_bos_token", true)
                    .putBool("tokenizer.ggml.add_eos_token", false)
                    .putString("tokenizer.chat_template", CHATML);

            boolean scripted = !script.isEmpty();
            float[] embeddings = new float[EMBEDDING * vocab];
            for (int t = 0; t < vocab; t++) {
                for (int d = 0; d < EMBEDDING; d++) {
                    embeddings[t * EMBEDDING + d] = (float) (scripted ? 0.02 * gaussian.nextGaussian() : gaussian.nextGaussian());
                }
            }
            float[] outputNorm = ones(EMBEDDING);
            float[] output = new float[EMBEDDING * vocab];
            if (scripted) {
                // Dimension 0 is a constant "bias" every token carries; dimension k+1 marks script token k.
                // The residual stream stays close to the current token's embedding (the layers' weights are
                // tiny), so the output projection reads off which token comes next.
                for (int t = 0; t < vocab; t++) {
                    embeddings[t * EMBEDDING] = 8f;
                }
                for (int k = 0; k < script.size(); k++) {
                    int token = tokenId(script.get(k));
                    embeddings[token * EMBEDDING + k + 1] = 24f;
                }
                output[tokenId(script.getFirst()) * EMBEDDING] = 3f;
                for (int k = 0; k + 1 < script.size(); k++) {
                    output[tokenId(script.get(k + 1)) * EMBEDDING + k + 1] = 3f;
                }
            } else {
                for (int i = 0; i < output.length; i++) {
                    output[i] = (float) gaussian.nextGaussian();
                }
            }
            gguf.tensor("token_embd.weight", embeddings, EMBEDDING, vocab);
            gguf.tensor("output_norm.weight", outputNorm, EMBEDDING);
            gguf.tensor("output.weight", output, EMBEDDING, vocab);
            double scale = scripted ? 0.002 : 0.05;
            for (int layer = 0; layer < LAYERS; layer++) {
                String prefix = "blk." + layer + ".";
                gguf.tensor(prefix + "attn_norm.weight", ones(EMBEDDING), EMBEDDING);
                gguf.tensor(prefix + "attn_q.weight", random(random, EMBEDDING * EMBEDDING, scale), EMBEDDING, EMBEDDING);
                gguf.tensor(prefix + "attn_k.weight", random(random, EMBEDDING * EMBEDDING, scale), EMBEDDING, EMBEDDING);
                gguf.tensor(prefix + "attn_v.weight", random(random, EMBEDDING * EMBEDDING, scale), EMBEDDING, EMBEDDING);
                gguf.tensor(prefix + "attn_output.weight", random(random, EMBEDDING * EMBEDDING, scale), EMBEDDING, EMBEDDING);
                gguf.tensor(prefix + "ffn_norm.weight", ones(EMBEDDING), EMBEDDING);
                gguf.tensor(prefix + "ffn_gate.weight", random(random, EMBEDDING * FFN, scale), EMBEDDING, FFN);
                gguf.tensor(prefix + "ffn_down.weight", random(random, FFN * EMBEDDING, scale), FFN, EMBEDDING);
                gguf.tensor(prefix + "ffn_up.weight", random(random, EMBEDDING * FFN, scale), EMBEDDING, FFN);
            }
            return gguf;
        }
    }

    private static float[] scores(List<String> vocabulary) {
        float[] scores = new float[vocabulary.size()];
        for (int i = 0; i < scores.length; i++) {
            // SentencePiece merges prefer higher scores: longer pieces first, bytes last.
            String token = vocabulary.get(i);
            scores[i] = token.startsWith("<0x") ? -1000f : token.length() - i * 1e-3f;
        }
        return scores;
    }

    private static int[] tokenTypes(List<String> vocabulary) {
        int[] types = new int[vocabulary.size()];
        for (int i = 0; i < types.length; i++) {
            String token = vocabulary.get(i);
            types[i] = i == 0 ? 2 : i < 5 ? 3 : token.startsWith("<0x") ? 6 : 1;
        }
        return types;
    }

    private static float[] ones(int n) {
        float[] values = new float[n];
        java.util.Arrays.fill(values, 1f);
        return values;
    }

    private static float[] random(SplittableRandom random, int n, double scale) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) ((random.nextDouble() * 2 - 1) * scale);
        }
        return values;
    }
}
