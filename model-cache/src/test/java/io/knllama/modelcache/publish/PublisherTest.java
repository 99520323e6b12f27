package io.knllama.modelcache.publish;

import io.knllama.modelcache.verify.Manifest;
import io.knllama.modelcache.verify.Sha256;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

class PublisherTest {

    @TempDir
    Path dir;

    private final Publisher publisher = new Publisher(Clock.fixed(Instant.parse("2026-05-06T07:08:09Z"), ZoneOffset.UTC));
    private final Sha256 sha = Sha256.parse("cd".repeat(32));

    @Test
    void moves_the_verified_file_over_the_old_model_and_records_a_manifest_that_matches_it() throws Exception {
        Path model = Files.writeString(dir.resolve("m.gguf"), "old model");
        Files.writeString(Manifest.pathFor(model), "stale manifest");
        Path verified = Files.writeString(dir.resolve(".m.gguf.abc.part"), "new model");

        Manifest manifest = publisher.publish(verified, model, "hf://org/repo/m.gguf@main", sha, "abc");

        assertThat(model).hasContent("new model");
        assertThat(verified).doesNotExist();
        assertThat(Manifest.read(Manifest.pathFor(model))).contains(manifest);
        assertThat(manifest.matchesFile(model)).isTrue();
        assertThat(manifest.size()).isEqualTo(9);
        assertThat(manifest.published()).isEqualTo(Instant.parse("2026-05-06T07:08:09Z"));
        assertThat(dir).isDirectoryNotContaining("glob:**.tmp");
    }

    @Test
    void removes_what_interrupted_runs_left_for_this_model_and_nothing_else() throws Exception {
        Path model = dir.resolve("m.gguf");
        for (String name : new String[] {".m.gguf.dead1.part", ".m.gguf.manifest.dead2.tmp", ".m.gguf.lock.stale-dead3",
                ".m.gguf.lock", ".other.gguf.x.part", "m.gguf.manifest", "notes.txt"}) {
            Files.writeString(dir.resolve(name), name);
        }

        assertThat(publisher.removeLeftovers(model)).isEqualTo(3);

        try (var files = Files.list(dir)) {
            assertThat(files.map(file -> file.getFileName().toString()))
                    .containsExactlyInAnyOrder(".m.gguf.lock", ".other.gguf.x.part", "m.gguf.manifest", "notes.txt");
        }
    }
}
