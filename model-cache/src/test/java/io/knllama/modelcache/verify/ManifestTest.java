package io.knllama.modelcache.verify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ManifestTest {

    @TempDir
    Path dir;

    private final Sha256 sha = Sha256.parse("ab".repeat(32));

    @Test
    void survives_a_round_trip_through_its_text_form() {
        Manifest manifest = new Manifest("hf://org/repo/m.gguf@main", sha, 42, Instant.parse("2026-01-02T03:04:05.123456789Z"),
                Instant.parse("2026-01-02T03:04:06Z"));

        assertThat(Manifest.parse(manifest.render())).isEqualTo(manifest);
        assertThat(manifest.render()).startsWith("# knllama model-cache").contains("sha256=" + sha.hex());
    }

    @Test
    void lives_beside_the_model() {
        assertThat(Manifest.pathFor(dir.resolve("m.gguf"))).isEqualTo(dir.resolve("m.gguf.manifest"));
    }

    @Test
    void matches_the_file_it_describes_until_its_size_or_modification_time_changes() throws Exception {
        Path model = Files.write(dir.resolve("m.gguf"), new byte[10]);
        Manifest manifest = Manifest.describe(model, "file:///x", sha, Instant.now());

        assertThat(manifest.matchesFile(model)).isTrue();
        Files.setLastModifiedTime(model, FileTime.from(manifest.modified().plusSeconds(1)));
        assertThat(manifest.matchesFile(model)).isFalse();
        Files.write(model, new byte[11]);
        Files.setLastModifiedTime(model, FileTime.from(manifest.modified()));
        assertThat(manifest.matchesFile(model)).isFalse();
    }

    @Test
    void reads_nothing_when_there_is_no_manifest_and_fails_on_a_damaged_one() throws Exception {
        assertThat(Manifest.read(dir.resolve("none.manifest"))).isEmpty();

        Path damaged = Files.writeString(dir.resolve("m.manifest"), "source=x\nsha256=nothex\n");
        assertThatThrownBy(() -> Manifest.read(damaged)).isInstanceOf(IllegalArgumentException.class);
        Path truncated = Files.writeString(dir.resolve("t.manifest"), "source=x\nsha256=" + sha.hex() + "\nsize=1\n");
        assertThatThrownBy(() -> Manifest.read(truncated)).hasMessageContaining("'modified' is missing");
    }

    @Test
    void refuses_a_source_that_would_break_its_line_format() {
        assertThatThrownBy(() -> new Manifest("a\nsha256=00", sha, 1, Instant.EPOCH, Instant.EPOCH))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
