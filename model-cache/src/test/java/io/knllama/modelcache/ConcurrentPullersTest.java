package io.knllama.modelcache;

import io.knllama.gguf.GgufFile;
import io.knllama.gguf.TinyModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Several init containers starting at once on one ReadWriteMany volume, played by separate JVMs on one
 * directory: one downloads, the others wait on the lock and accept what it publishes.
 */
class ConcurrentPullersTest {

    private static final int PULLERS = 5;

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void should_download_once_when_five_processes_pull_into_one_directory_at_the_same_time() throws Exception {
        byte[] model = TinyModel.builder().build().toBytes();
        Path dir = tmp.resolve("models");
        try (FakeHuggingFace hf = FakeHuggingFace.start().put("org/tiny-GGUF", "main", "tiny.gguf", model)) {
            // Slow enough (about 4 s) that every process starts while the download is still running.
            hf.throttle(model.length / 4);
            List<Process> pullers = new ArrayList<>();
            for (int i = 0; i < PULLERS; i++) {
                pullers.add(puller(i, dir, hf).start());
            }
            for (int i = 0; i < PULLERS; i++) {
                Process puller = pullers.get(i);
                if (!puller.waitFor(2, TimeUnit.MINUTES)) {
                    pullers.forEach(Process::destroyForcibly);
                    fail("puller %d did not finish within 2 minutes; its log:%n%s", i, log(i));
                }
                assertThat(puller.exitValue()).as("exit status of puller %d, whose log is:%n%s", i, log(i)).isZero();
            }

            assertThat(hf.fullDownloads()).isEqualTo(1);
            assertThat(hf.bytesServed()).isEqualTo(model.length);
            assertThat(dir.resolve("tiny.gguf")).hasBinaryContent(model);
            try (Stream<Path> files = Files.list(dir)) {
                assertThat(files.map(file -> file.getFileName().toString())).containsExactlyInAnyOrder("tiny.gguf", "tiny.gguf.manifest");
            }
            List<String> logs = new ArrayList<>();
            for (int i = 0; i < PULLERS; i++) {
                logs.add(log(i));
            }
            assertThat(logs).filteredOn(log -> log.contains("INFO  published ")).hasSize(1);
            assertThat(logs).filteredOn(log -> log.contains("INFO  waiting for puller-")).isNotEmpty();
            assertThat(logs).allMatch(log -> log.contains("INFO  model ready: " + dir.resolve("tiny.gguf")));
        }
    }

    private ProcessBuilder puller(int index, Path dir, FakeHuggingFace hf) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        // model-cache's only runtime dependency is the GGUF reader: the two are the whole classpath.
        String classpath = codeSource(Main.class) + File.pathSeparator + codeSource(GgufFile.class);
        ProcessBuilder builder = new ProcessBuilder(java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", classpath, Main.class.getName(), "--dir=" + dir)
                .redirectErrorStream(true)
                .redirectOutput(tmp.resolve("puller-" + index + ".log").toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("KNLLAMA_") || name.startsWith("HF_"));
        builder.environment().put("KNLLAMA_MODEL_SOURCE", "hf://org/tiny-GGUF/tiny.gguf");
        builder.environment().put("HF_ENDPOINT", hf.endpoint().toString());
        builder.environment().put("HOSTNAME", "puller-" + index);
        return builder;
    }

    private static Path codeSource(Class<?> type) throws Exception {
        return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    private String log(int index) throws Exception {
        Path log = tmp.resolve("puller-" + index + ".log");
        return Files.exists(log) ? Files.readString(log) : "(none)";
    }
}
