package io.knllama.model;

import io.knllama.gguf.GgufFile;
import io.knllama.gguf.TinyModel;
import io.knllama.gguf.record.ChangeTimes;
import io.knllama.gguf.record.CheckRecord;
import io.knllama.gguf.record.FileIdentity;
import io.knllama.gguf.record.RecordKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The model file's check, and when model-cache's check record lets it skip the full pass. The models with
 * a repeated vocabulary entry are ones llama.cpp aborts on and only the full pass refuses: a test that
 * expects them refused fails if the full pass was wrongly skipped.
 */
class ModelFileTest {

    private static final RecordKey KEY = RecordKey.of("0123456789abcdef".repeat(4));
    private static final int VOCABULARY = 3000;

    @TempDir
    Path dir;

    /** What model-cache does after its own full check passed: a record of the file's state, signed. */
    private static Path recorded(Path model, RecordKey key) throws IOException {
        CheckRecord record = CheckRecord.of(model, FileIdentity.of(model), "ab".repeat(32), Instant.now()).orElseThrow();
        Files.writeString(CheckRecord.pathFor(model), record.render(key));
        return model;
    }

    private Path model(boolean repeat) throws IOException {
        return TinyModel.withLargeVocabulary(VOCABULARY, repeat).write(dir.resolve("model.gguf"));
    }

    @Test
    void reads_the_same_facts_whether_or_not_a_record_vouches_for_the_file() throws Exception {
        Path path = recorded(model(false), KEY);

        ModelFile trusted = ModelFile.inspect(path, Optional.of(KEY));
        ModelFile checked = ModelFile.inspect(path, Optional.empty());

        assertThat(trusted).isEqualTo(checked);
        assertThat(trusted.vocabularySize()).isEqualTo(VOCABULARY);
        assertThat(trusted.chatTemplate()).isPresent();
    }

    @Test
    void skips_the_full_pass_only_for_the_file_a_signed_record_names() throws Exception {
        Path path = recorded(model(true), KEY);

        assertThat(ModelFile.inspect(path, Optional.of(KEY)).vocabularySize()).isEqualTo(VOCABULARY);
    }

    @Test
    void checks_in_full_without_a_record_key() throws Exception {
        Path path = recorded(model(true), KEY);

        assertRefused(path, Optional.empty());
    }

    @Test
    void checks_in_full_without_a_record() throws Exception {
        assertRefused(model(true), Optional.of(KEY));
    }

    @Test
    void a_bos_id_outside_the_vocabulary_is_replaced_by_llama_cpps_default_as_llama_cpp_does() throws Exception {
        Path path = TinyModel.builder().build().putU32("tokenizer.ggml.bos_token_id", 1_000_000).write(dir.resolve("bad-bos.gguf"));

        assertThat(ModelFile.inspect(path, Optional.empty()).bosToken()).isEqualTo(1);
    }

    @Test
    void refuses_a_file_swapped_after_publishing_because_it_checks_it_again() throws Exception {
        Path path = recorded(model(false), KEY);
        Path swapped = TinyModel.withLargeVocabulary(VOCABULARY, true).write(dir.resolve("swapped.gguf"));
        Files.setLastModifiedTime(swapped, Files.getLastModifiedTime(path));
        Files.move(swapped, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

        assertRefused(path, Optional.of(KEY));
    }

    @Test
    void refuses_a_file_changed_in_place_to_the_same_size_and_modification_time() throws Exception {
        Path path = recorded(model(false), KEY);
        FileTime modified = Files.getLastModifiedTime(path);
        ChangeTimes.awaitTickAfter(dir, FileIdentity.of(path).changed());
        overwrite(path, "<0x0B>", "<0x0A>");
        Files.setLastModifiedTime(path, modified);
        assertThat(Files.size(path)).isEqualTo(TinyModel.withLargeVocabulary(VOCABULARY, false).toBytes().length);

        assertRefused(path, Optional.of(KEY));
    }

    @Test
    void refuses_a_file_whose_record_was_signed_with_another_key() throws Exception {
        Path path = recorded(model(true), RecordKey.of("x".repeat(40)));

        assertRefused(path, Optional.of(KEY));
    }

    @Test
    void refuses_a_file_whose_record_was_edited_to_name_it() throws Exception {
        Path path = recorded(model(false), KEY);
        String record = Files.readString(CheckRecord.pathFor(path));
        Path swapped = TinyModel.withLargeVocabulary(VOCABULARY, true).write(dir.resolve("swapped.gguf"));
        Files.move(swapped, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        FileIdentity now = FileIdentity.of(path);
        Files.writeString(CheckRecord.pathFor(path), record.replaceFirst("inode=\\d+", "inode=" + now.inode())
                .replaceFirst("changed=\\S+", "changed=" + now.changed()).replaceFirst("modified=\\S+", "modified=" + now.modified()));

        assertRefused(path, Optional.of(KEY));
    }

    @Test
    void refuses_a_file_recorded_by_another_version_of_the_check() throws Exception {
        Path path = model(true);
        CheckRecord old = new CheckRecord(path.getFileName().toString(), FileIdentity.of(path), "0000000000000000",
                "ab".repeat(32), Instant.now());
        Files.writeString(CheckRecord.pathFor(path), old.render(KEY));

        assertThat(GgufFile.checkerVersion()).isPresent().isNotEqualTo(Optional.of("0000000000000000"));
        assertRefused(path, Optional.of(KEY));
    }

    @Test
    void ignores_a_record_key_too_short_to_be_a_secret() {
        assertThat(RecordedCheck.keyFrom(Map.of(RecordedCheck.KEY_VARIABLE, "short")::get)).isEmpty();
        assertThat(RecordedCheck.keyFrom(Map.of(RecordedCheck.KEY_VARIABLE, "s".repeat(32))::get)).isPresent();
        assertThat(RecordedCheck.keyFrom(Map.<String, String>of()::get)).isEmpty();
    }

    private static void assertRefused(Path path, Optional<RecordKey> key) {
        assertThatThrownBy(() -> ModelFile.inspect(path, key))
                .isInstanceOf(ModelFile.ModelFileException.class)
                .hasMessageContaining("is not a usable GGUF model")
                .hasMessageContaining("repeats an earlier entry");
    }

    private static void overwrite(Path path, String from, String to) throws IOException {
        byte[] bytes = Files.readAllBytes(path);
        byte[] needle = from.getBytes(StandardCharsets.UTF_8);
        int at = indexOf(bytes, needle);
        assertThat(at).as("'%s' in the file", from).isNotNegative();
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.seek(at);
            file.write(to.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
