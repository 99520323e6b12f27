package io.knllama.gguf.record;

import io.knllama.gguf.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CheckRecordTest {

    private static final RecordKey KEY = RecordKey.of("k".repeat(40));

    @TempDir
    Path dir;

    private Path recorded(Path model) throws IOException {
        CheckRecord record = CheckRecord.of(model, FileIdentity.of(model), "ab".repeat(32), Instant.now()).orElseThrow();
        Files.writeString(CheckRecord.pathFor(model), record.render(KEY));
        return model;
    }

    @Test
    void vouches_for_the_file_it_was_written_for_as_long_as_it_is_unchanged() throws Exception {
        Path model = recorded(TinyModel.write(dir.resolve("tiny.gguf")));

        CheckRecord record = CheckRecord.read(model, KEY).orElseThrow();

        assertThat(record.identity()).isEqualTo(FileIdentity.of(model));
        assertThat(record.sha256()).isEqualTo("ab".repeat(32));
        assertThat(record.mismatch(model, FileIdentity.of(model))).isEmpty();
        assertThat(Files.readString(CheckRecord.pathFor(model))).contains("file=tiny.gguf").containsPattern("\nmac=[0-9a-f]{64}\n");
    }

    @Test
    void is_absent_when_there_is_no_record() throws Exception {
        assertThat(CheckRecord.read(TinyModel.write(dir.resolve("tiny.gguf")), KEY)).isEmpty();
    }

    @Test
    void is_refused_when_signed_with_another_key() throws Exception {
        Path model = recorded(TinyModel.write(dir.resolve("tiny.gguf")));

        assertThatThrownBy(() -> CheckRecord.read(model, RecordKey.of("x".repeat(40))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mac does not verify");
    }

    @Test
    void is_refused_when_any_value_was_edited_to_match_another_file() throws Exception {
        Path model = recorded(TinyModel.write(dir.resolve("tiny.gguf")));
        Path record = CheckRecord.pathFor(model);
        Files.writeString(record, Files.readString(record).replaceFirst("inode=\\d+", "inode=1"));

        assertThatThrownBy(() -> CheckRecord.read(model, KEY)).hasMessageContaining("mac does not verify");
    }

    @Test
    void is_refused_when_it_is_a_symbolic_link() throws Exception {
        Path model = recorded(TinyModel.write(dir.resolve("tiny.gguf")));
        Path elsewhere = Files.move(CheckRecord.pathFor(model), dir.resolve("elsewhere"));
        Files.createSymbolicLink(CheckRecord.pathFor(model), elsewhere);

        assertThatThrownBy(() -> CheckRecord.read(model, KEY)).hasMessageContaining("symbolic link");
    }

    @Test
    void no_longer_vouches_after_a_same_size_write_that_restores_the_modification_time() throws Exception {
        Path model = recorded(TinyModel.write(dir.resolve("tiny.gguf")));
        CheckRecord record = CheckRecord.read(model, KEY).orElseThrow();
        FileTime modified = Files.getLastModifiedTime(model);
        ChangeTimes.awaitTickAfter(dir, record.identity().changed());
        try (RandomAccessFile file = new RandomAccessFile(model.toFile(), "rw")) {
            file.seek(file.length() - 10);
            file.write(0x5a);
        }
        Files.setLastModifiedTime(model, modified);

        FileIdentity now = FileIdentity.of(model);
        assertThat(now.size()).isEqualTo(record.identity().size());
        assertThat(now.modified()).isEqualTo(record.identity().modified());
        assertThat(record.mismatch(model, now)).hasValueSatisfying(reason -> assertThat(reason).contains("change time differs"));
    }

    @Test
    void no_longer_vouches_after_the_file_was_replaced_by_one_with_the_same_bytes() throws Exception {
        Path model = recorded(TinyModel.write(dir.resolve("tiny.gguf")));
        CheckRecord record = CheckRecord.read(model, KEY).orElseThrow();
        Path copy = Files.copy(model, dir.resolve("copy"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.move(copy, model, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

        assertThat(record.mismatch(model, FileIdentity.of(model))).hasValueSatisfying(reason -> assertThat(reason).contains("another inode"));
    }

    @Test
    void does_not_vouch_for_another_file_it_was_copied_beside() throws Exception {
        Path model = recorded(TinyModel.write(dir.resolve("tiny.gguf")));
        CheckRecord record = CheckRecord.read(model, KEY).orElseThrow();

        assertThat(record.mismatch(dir.resolve("other.gguf"), record.identity())).hasValueSatisfying(reason -> assertThat(reason).contains("written for tiny.gguf"));
    }

    @Test
    void does_not_identify_a_symbolic_link() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny.gguf"));
        Path link = Files.createSymbolicLink(dir.resolve("link.gguf"), model);

        assertThatThrownBy(() -> FileIdentity.of(link)).hasMessageContaining("not a regular file");
    }

    @Test
    void wants_a_long_key_and_never_repeats_it() {
        assertThatThrownBy(() -> RecordKey.of("short-secret")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 32 characters").hasMessageNotContaining("short-secret");
        assertThat(KEY.toString()).doesNotContain("kkkk");
    }
}
