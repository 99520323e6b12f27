package io.knllama.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgufFileTest {

    @TempDir
    Path dir;

    @Test
    void reads_the_metadata_and_tensor_table_of_a_well_formed_model() throws Exception {
        GgufFile file = GgufFile.read(TinyModel.write(dir.resolve("tiny.gguf")));

        assertThat(file.version()).isEqualTo(3);
        assertThat(file.architecture()).isEqualTo("llama");
        assertThat(file.integer("llama.block_count")).hasValue(TinyModel.LAYERS);
        assertThat(file.bool("tokenizer.ggml.add_bos_token")).contains(true);
        assertThat(file.string("tokenizer.chat_template")).hasValueSatisfying(t -> assertThat(t).contains("im_start"));
        assertThat(file.value("tokenizer.ggml.tokens").orElseThrow().length()).isEqualTo(TinyModel.vocabulary().size());
        assertThat(file.tensors()).hasSize(3 + 9 * TinyModel.LAYERS);
        assertThat(file.dataOffset() % 32).isZero();
        assertThat(file.dataOffset() + file.tensorBytes()).isLessThanOrEqualTo(file.fileSize());
    }

    @Test
    void lists_the_texts_of_the_control_and_unknown_tokens_in_vocabulary_order() throws Exception {
        Path path = TinyModel.write(dir.resolve("tiny.gguf"));

        assertThat(GgufFile.controlTokens(path)).containsExactly("<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>");
    }

    @Test
    void lists_the_end_of_turn_texts_llama_cpp_makes_control_tokens_whatever_their_type_in_the_file() throws Exception {
        int[] normal = new int[TinyModel.vocabulary().size()];
        java.util.Arrays.fill(normal, 1);
        Path path = TinyModel.builder().build().putI32s("tokenizer.ggml.token_type", normal).write(dir.resolve("untyped.gguf"));

        assertThat(GgufFile.controlTokens(path)).containsExactly("<|im_end|>");
    }

    @Test
    void lists_the_control_tokens_when_the_token_types_outnumber_the_vocabulary() throws Exception {
        int size = TinyModel.vocabulary().size();
        int[] types = new int[size + 3]; // llama.cpp reads as many as there are tokens, and loads the file
        java.util.Arrays.fill(types, 1);
        types[3] = 3;
        Path path = TinyModel.builder().build().putI32s("tokenizer.ggml.token_type", types).write(dir.resolve("long-types.gguf"));

        assertThat(GgufFile.controlTokens(path)).containsExactly("<|im_start|>", "<|im_end|>");
    }

    @Test
    void lists_no_control_tokens_for_a_vocabulary_without_token_types() throws Exception {
        Path path = TinyModel.builder().build().remove("tokenizer.ggml.token_type").write(dir.resolve("untyped.gguf"));

        assertThat(GgufFile.controlTokens(path)).isEmpty();
    }

    @Test
    void rejects_a_file_that_is_not_gguf() throws Exception {
        Path path = Files.writeString(dir.resolve("model.gguf"), "<html>404 Not Found</html> and some more bytes");

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("magic");
    }

    @Test
    void rejects_a_truncated_download_naming_the_tensor_that_is_cut() throws Exception {
        byte[] bytes = TinyModel.builder().build().toBytes();
        Path path = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(bytes, bytes.length - 1000));

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("truncated");
    }

    @Test
    void rejects_a_header_cut_inside_the_metadata() throws Exception {
        byte[] bytes = TinyModel.builder().build().toBytes();
        Path path = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(bytes, 2000));

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("truncated");
    }

    @Test
    void rejects_a_huge_declared_metadata_count_without_allocating_it() throws Exception {
        byte[] bytes = TinyModel.builder().build().toBytes();
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(16, Long.MAX_VALUE / 2);
        Path path = Files.write(dir.resolve("huge.gguf"), bytes);

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("metadata count");
    }

    @Test
    void rejects_a_huge_declared_string_length() throws Exception {
        byte[] bytes = TinyModel.builder().build().toBytes();
        // the first key's length field follows the 24-byte header
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 1L << 40);
        Path path = Files.write(dir.resolve("huge.gguf"), bytes);

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("metadata key");
    }

    @Test
    void rejects_an_unsupported_version() throws Exception {
        byte[] bytes = TinyModel.builder().build().toBytes();
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 1);
        Path path = Files.write(dir.resolve("v1.gguf"), bytes);

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("version 1");
    }

    @Test
    void rejects_a_vocabulary_with_a_repeated_entry_that_would_abort_llama_cpp() throws Exception {
        GgufWriter writer = TinyModel.builder().build();
        List<String> tokens = new java.util.ArrayList<>(TinyModel.vocabulary());
        tokens.set(10, tokens.get(11));
        Path path = writer.putStrings("tokenizer.ggml.tokens", tokens).write(dir.resolve("dup.gguf"));

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("vocabulary entry 11");
    }

    @Test
    void skips_only_the_per_entry_pass_over_large_arrays_when_asked_to() throws Exception {
        Path path = TinyModel.withLargeVocabulary(3000, true).write(dir.resolve("repeat.gguf"));

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("repeats an earlier entry");
        GgufFile file = GgufFile.read(path, GgufFile.Checks.ALL_BUT_LARGE_ARRAYS);
        assertThat(file.value("tokenizer.ggml.tokens").orElseThrow().length()).isEqualTo(3000);
        assertThat(file.string("tokenizer.chat_template")).isPresent();
        assertThat(file.tensors()).hasSize(3 + 9 * TinyModel.LAYERS);
    }

    @Test
    void still_checks_the_structure_when_skipping_the_per_entry_pass() throws Exception {
        byte[] bytes = TinyModel.withLargeVocabulary(3000, false).toBytes();
        Path cut = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(bytes, bytes.length - 1000));
        Path huge = dir.resolve("huge.gguf");
        byte[] hugeCount = bytes.clone();
        ByteBuffer.wrap(hugeCount).order(ByteOrder.LITTLE_ENDIAN).putLong(16, Long.MAX_VALUE / 2);
        Files.write(huge, hugeCount);

        assertThatThrownBy(() -> GgufFile.read(cut, GgufFile.Checks.ALL_BUT_LARGE_ARRAYS)).hasMessageContaining("truncated");
        assertThatThrownBy(() -> GgufFile.read(huge, GgufFile.Checks.ALL_BUT_LARGE_ARRAYS)).hasMessageContaining("metadata count");
    }

    @Test
    void names_its_checker_version_after_its_own_code() {
        assertThat(GgufFile.checkerVersion()).hasValueSatisfying(version -> assertThat(version).matches("[0-9a-f]{16}"));
    }

    @Test
    void rejects_tokenizer_scores_of_the_wrong_type() throws Exception {
        Path path = TinyModel.builder().build()
                .putI32s("tokenizer.ggml.scores", new int[TinyModel.vocabulary().size()])
                .write(dir.resolve("scores.gguf"));

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class)
                .hasMessageContaining("tokenizer.ggml.scores").hasMessageContaining("FLOAT32");
    }

    @Test
    void rejects_a_zero_head_count_that_llama_cpp_would_divide_by() throws Exception {
        Path path = TinyModel.builder().build().putU32("llama.attention.head_count", 0).write(dir.resolve("heads.gguf"));

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("head_count");
    }

    @Test
    void rejects_a_file_without_an_architecture() throws Exception {
        Path path = TinyModel.builder().build().remove("general.architecture").write(dir.resolve("arch.gguf"));

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("architecture");
    }

    @Test
    void rejects_a_string_that_is_not_valid_utf8() throws Exception {
        byte[] bytes = TinyModel.builder().build().toBytes();
        int at = indexOf(bytes, "tiny-llama".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        bytes[at] = (byte) 0xC0; // an overlong encoding's lead byte, followed by ASCII
        Path path = Files.write(dir.resolve("utf8.gguf"), bytes);

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("not valid UTF-8");
    }

    @Test
    void accepts_every_kind_of_valid_utf8_in_strings() throws Exception {
        String text = "caf\u00e9 \u2581word \uD83E\uDD99 \uFFFD \u0000";
        Path path = TinyModel.builder().build().putString("general.description", text).write(dir.resolve("utf8ok.gguf"));

        assertThat(GgufFile.read(path).string("general.description")).contains(text);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }

    @Test
    void rejects_an_empty_file() throws IOException {
        Path path = Files.write(dir.resolve("empty.gguf"), new byte[0]);

        assertThatThrownBy(() -> GgufFile.read(path)).isInstanceOf(GgufException.class).hasMessageContaining("0 bytes");
    }
}
