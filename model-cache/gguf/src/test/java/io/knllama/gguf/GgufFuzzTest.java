package io.knllama.gguf;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Feeds arbitrary bytes to {@link GgufFile#read}. It may reject them only with a {@link GgufException};
 * anything else (an index out of bounds, a huge allocation, a hang) is a finding. A file it accepts
 * must keep the promises llama.cpp relies on.
 *
 * <p>In {@code ./mvnw verify} this runs in regression mode: once per seed and per input under
 * {@code src/test/resources/io/knllama/gguf/GgufFuzzTestInputs/}. {@code scripts/fuzz-gguf.sh} runs it
 * as a fuzzer.
 */
class GgufFuzzTest {

    private static final Path SCRATCH = scratchFile();

    static Stream<Arguments> reads_any_bytes_without_failing_other_than_with_a_GgufException() {
        return GgufSeeds.all().stream().map(bytes -> Arguments.of((Object) bytes));
    }

    @MethodSource // before @FuzzTest: Jazzer requires its annotation to come last
    @FuzzTest(maxDuration = "30s")
    void reads_any_bytes_without_failing_other_than_with_a_GgufException(byte[] bytes) throws IOException {
        Files.write(SCRATCH, bytes);
        GgufFile file;
        try {
            file = GgufFile.read(SCRATCH);
        } catch (GgufException rejected) {
            return;
        }
        assertThat(file.fileSize()).isEqualTo(bytes.length);
        assertThat(file.dataOffset() % file.alignment()).isZero();
        for (GgufFile.TensorInfo tensor : file.tensors()) {
            assertThat(tensor.offset() % file.alignment()).isZero();
            assertThat(file.dataOffset() + tensor.offset() + tensor.byteSize()).isBetween(file.dataOffset(), file.fileSize());
        }
    }

    /** One file reused for every execution: the fuzzer runs tens of thousands per second. */
    private static Path scratchFile() {
        try {
            Path shm = Path.of("/dev/shm");
            Path file = Files.isDirectory(shm) && Files.isWritable(shm)
                    ? Files.createTempFile(shm, "gguf-fuzz", ".gguf") : Files.createTempFile("gguf-fuzz", ".gguf");
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
