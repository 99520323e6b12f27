package io.knllama.modelcache.verify;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Sha256Test {

    /** sha256 of "abc", from FIPS 180-2. */
    private static final String ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    @Test
    void accepts_a_prefixed_or_bare_digest_in_either_case() {
        assertThat(Sha256.parse("sha256:" + ABC)).isEqualTo(new Sha256(ABC));
        assertThat(Sha256.parse(ABC.toUpperCase())).isEqualTo(new Sha256(ABC));
        assertThat(Sha256.parse(" SHA256:" + ABC.toUpperCase() + "\n")).isEqualTo(new Sha256(ABC));
        assertThat(new Sha256(ABC)).hasToString("sha256:" + ABC);
    }

    @Test
    void rejects_anything_but_64_hex_digits() {
        assertThatThrownBy(() -> Sha256.parse(ABC.substring(1))).hasMessageContaining("64 hex digits");
        assertThatThrownBy(() -> Sha256.parse("md5:" + ABC)).hasMessageContaining("64 hex digits");
        assertThatThrownBy(() -> Sha256.parse(ABC.replace('a', 'g'))).hasMessageContaining("64 hex digits");
        assertThatThrownBy(() -> Sha256.parse("")).hasMessageContaining("64 hex digits");
    }

    @Test
    void reads_the_digest_in_hugging_faces_linked_etag_and_nothing_from_other_tags() {
        assertThat(Sha256.fromEntityTag("\"" + ABC + "\"")).contains(new Sha256(ABC));
        assertThat(Sha256.fromEntityTag("W/\"" + ABC.toUpperCase() + "\"")).contains(new Sha256(ABC));
        assertThat(Sha256.fromEntityTag("\"a9993e364706816aba3e25717850c26c9cd0d89d\"")).isEmpty(); // a git blob's sha1
        assertThat(Sha256.fromEntityTag(null)).isEmpty();
    }

    @Test
    void hashes_a_file_in_chunks_reporting_progress(@TempDir Path dir) throws Exception {
        Path file = Files.write(dir.resolve("f"), "abc".getBytes());
        List<Long> progress = new ArrayList<>();

        assertThat(Sha256.ofFile(file, progress::add)).isEqualTo(new Sha256(ABC));
        assertThat(progress).containsExactly(3L);
    }

    @Test
    void hashes_an_empty_file() throws Exception {
        Path empty = Files.createTempFile("empty", "");
        try {
            assertThat(Sha256.ofFile(empty, done -> { }).hex())
                    .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        } finally {
            Files.delete(empty);
        }
    }
}
