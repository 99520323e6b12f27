package io.knllama.modelcache;

import io.knllama.gguf.GgufFile;
import io.knllama.gguf.TinyModel;
import io.knllama.gguf.record.ChangeTimes;
import io.knllama.gguf.record.CheckRecord;
import io.knllama.gguf.record.FileIdentity;
import io.knllama.gguf.record.RecordKey;
import io.knllama.modelcache.download.DownloadPolicy;
import io.knllama.modelcache.download.RetryPolicy;
import io.knllama.modelcache.failure.IntegrityException;
import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.log.Log;
import io.knllama.modelcache.publish.Lease;
import io.knllama.modelcache.publish.Publisher;
import io.knllama.modelcache.publish.VolumeLock;
import io.knllama.modelcache.verify.Manifest;
import io.knllama.modelcache.verify.Sha256;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
class ModelCacheTest {

    private static final String REPO = "org/tiny-GGUF";
    private static final String SOURCE = "hf://" + REPO + "/tiny.gguf";
    private static final String RECORD_KEY = "0123456789abcdef".repeat(4);

    @TempDir
    Path tmp;

    private final byte[] model = TinyModel.builder().build().toBytes();
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private FakeHuggingFace hf;
    private Path dir;

    @BeforeEach
    void start() throws Exception {
        hf = FakeHuggingFace.start().put(REPO, "main", "tiny.gguf", model);
        dir = tmp.resolve("models");
    }

    @AfterEach
    void stop() {
        hf.close();
    }

    @Test
    void should_download_verify_and_publish_the_model_with_its_manifest() throws Exception {
        Path path = cache(Map.of()).ensure();

        assertThat(path).isEqualTo(dir.resolve("tiny.gguf")).hasBinaryContent(model);
        Manifest manifest = Manifest.read(Manifest.pathFor(path)).orElseThrow();
        assertThat(manifest.source()).isEqualTo(SOURCE + "@main");
        assertThat(manifest.sha256().hex()).isEqualTo(FakeHuggingFace.sha256(model));
        assertThat(manifest.size()).isEqualTo(model.length);
        assertThat(manifest.matchesFile(path)).isTrue();
        assertThat(files()).containsExactlyInAnyOrder("tiny.gguf", "tiny.gguf.manifest");
        assertThat(lines).anyMatch(line -> line.contains("published " + path + ": llama, 21 tensors"));
        assertThat(lines).anyMatch(line -> line.contains("model ready: " + path) && line.contains("downloaded and verified"));
    }

    @Test
    void should_accept_a_model_already_present_without_contacting_the_source() throws Exception {
        cache(Map.of()).ensure();
        int requests = hf.requests().size();

        cache(Map.of()).ensure();

        assertThat(hf.requests()).hasSize(requests);
        assertThat(lines).anyMatch(line -> line.contains("model ready") && line.contains("already present, checked in"));
    }

    @Test
    void should_reject_a_download_whose_digest_is_not_the_pinned_one_and_publish_nothing() {
        Map<String, String> env = Map.of("KNLLAMA_MODEL_SOURCE", hf.blobUrl(REPO, "main", "tiny.gguf").toString(),
                "KNLLAMA_MODEL_FILE", "tiny.gguf", "KNLLAMA_MODEL_SHA256", "ab".repeat(32));

        assertThatThrownBy(() -> cache(env).ensure())
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("is sha256:" + FakeHuggingFace.sha256(model))
                .hasMessageContaining("KNLLAMA_MODEL_SHA256 pins sha256:" + "ab".repeat(32))
                .hasMessageContaining("nothing was published");
        assertThat(files()).isEmpty();
    }

    @Test
    void should_reject_a_download_that_differs_from_the_digest_the_source_announced() {
        hf.put(REPO, "main", "tiny.gguf", model, "ab".repeat(32));

        assertThatThrownBy(() -> cache(Map.of()).ensure())
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("the source announced sha256:" + "ab".repeat(32));
        assertThat(files()).isEmpty();
    }

    @Test
    void should_reject_a_truncated_model_before_publishing_and_keep_the_model_already_there() throws Exception {
        cache(Map.of()).ensure();
        Path published = dir.resolve("tiny.gguf");
        FileTime before = Files.getLastModifiedTime(published);
        hf.put(REPO, "v2", "tiny.gguf", Arrays.copyOf(model, model.length - 4096));

        assertThatThrownBy(() -> cache(Map.of("KNLLAMA_MODEL_SOURCE", SOURCE + "@v2")).ensure())
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("is not a usable GGUF model")
                .hasMessageContaining("truncated");

        assertThat(published).hasBinaryContent(model);
        assertThat(Files.getLastModifiedTime(published)).isEqualTo(before);
        assertThat(Manifest.read(Manifest.pathFor(published)).orElseThrow().source()).isEqualTo(SOURCE + "@main");
        assertThat(files()).containsExactlyInAnyOrder("tiny.gguf", "tiny.gguf.manifest");
    }

    @Test
    void should_reject_a_model_with_a_corrupted_header_before_publishing() {
        byte[] corrupt = model.clone();
        ByteBuffer.wrap(corrupt).order(ByteOrder.LITTLE_ENDIAN).putLong(16, Long.MAX_VALUE / 2); // metadata count
        hf.put(REPO, "main", "tiny.gguf", corrupt);

        assertThatThrownBy(() -> cache(Map.of()).ensure())
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("metadata count");
        assertThat(files()).isEmpty();
    }

    @Test
    void should_download_again_when_the_model_was_changed_after_it_was_published() throws Exception {
        Path path = cache(Map.of()).ensure();
        Files.write(path, new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);

        cache(Map.of()).ensure();

        assertThat(path).hasBinaryContent(model);
        assertThat(hf.fullDownloads()).isEqualTo(2);
        assertThat(lines).anyMatch(line -> line.contains("size or modification time changed"));
    }

    @Test
    void should_keep_a_model_whose_modification_time_changed_but_whose_content_did_not() throws Exception {
        Path path = cache(Map.of()).ensure();
        Files.setLastModifiedTime(path, FileTime.fromMillis(Files.getLastModifiedTime(path).toMillis() - 60_000));

        cache(Map.of()).ensure();

        assertThat(hf.fullDownloads()).isEqualTo(1);
        assertThat(lines).anyMatch(line -> line.contains("already present with the expected digest, adopted"));
        assertThat(Manifest.read(Manifest.pathFor(path)).orElseThrow().matchesFile(path)).isTrue();
    }

    @Test
    void should_catch_a_same_size_change_with_full_verification_that_the_manifest_check_trusts() throws Exception {
        Path path = cache(Map.of()).ensure();
        FileTime modified = Files.getLastModifiedTime(path);
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.seek(model.length - 10);
            file.write(0x5a);
        }
        Files.setLastModifiedTime(path, modified);

        cache(Map.of()).ensure();
        assertThat(hf.fullDownloads()).as("the manifest check trusts size and time").isEqualTo(1);

        cache(Map.of("KNLLAMA_MODEL_VERIFY", "full")).ensure();
        assertThat(hf.fullDownloads()).isEqualTo(2);
        assertThat(path).hasBinaryContent(model);
        assertThat(lines).anyMatch(line -> line.contains("its content no longer matches its manifest"));
    }

    @Test
    void should_adopt_a_model_copied_in_by_hand_when_it_has_the_pinned_digest() throws Exception {
        Files.createDirectories(dir);
        Files.write(dir.resolve("tiny.gguf"), model);

        cache(Map.of("KNLLAMA_MODEL_SHA256", FakeHuggingFace.sha256(model))).ensure();

        assertThat(hf.requests()).isEmpty();
        assertThat(Manifest.read(dir.resolve("tiny.gguf.manifest")).orElseThrow().sha256().hex()).isEqualTo(FakeHuggingFace.sha256(model));
        assertThat(lines).anyMatch(line -> line.contains("adopted"));
    }

    @Test
    void should_replace_a_symbolic_link_at_the_model_path_instead_of_adopting_what_it_points_to() throws Exception {
        Path outside = Files.write(Files.createDirectories(tmp.resolve("outside")).resolve("tiny.gguf"), model);
        Files.createDirectories(dir);
        Files.createSymbolicLink(dir.resolve("tiny.gguf"), outside);

        Path path = cache(Map.of("KNLLAMA_MODEL_SHA256", FakeHuggingFace.sha256(model))).ensure();

        assertThat(Files.isSymbolicLink(path)).as("still a link").isFalse();
        assertThat(path).hasBinaryContent(model);
        assertThat(hf.fullDownloads()).isEqualTo(1);
        assertThat(outside).hasBinaryContent(model);
        assertThat(lines).anyMatch(line -> line.contains("is a symbolic link: model-cache never follows or adopts one"));
    }

    @Test
    void should_not_read_a_manifest_through_a_symbolic_link() throws Exception {
        Path secret = Files.writeString(tmp.resolve("secret"), "BEGIN PRIVATE KEY hunter2\n");
        Path path = cache(Map.of()).ensure();
        Files.delete(Manifest.pathFor(path));
        Files.createSymbolicLink(Manifest.pathFor(path), secret);

        cache(Map.of()).ensure();

        assertThat(lines).anyMatch(line -> line.contains("its manifest is not readable (it is a symbolic link"));
        assertThat(lines).noneMatch(line -> line.contains("hunter2"));
        assertThat(Files.isSymbolicLink(Manifest.pathFor(path))).isFalse();
        assertThat(secret).hasContent("BEGIN PRIVATE KEY hunter2\n");
    }

    @Test
    void should_record_the_gguf_check_of_the_published_model_when_a_record_key_is_set() throws Exception {
        Path path = cache(Map.of("KNLLAMA_MODEL_RECORD_KEY", RECORD_KEY)).ensure();

        CheckRecord record = CheckRecord.read(path, RecordKey.of(RECORD_KEY)).orElseThrow();
        assertThat(record.mismatch(path, FileIdentity.of(path))).isEmpty();
        assertThat(record.checker()).isEqualTo(GgufFile.checkerVersion().orElseThrow());
        assertThat(record.sha256()).isEqualTo(FakeHuggingFace.sha256(model));
        assertThat(files()).containsExactlyInAnyOrder("tiny.gguf", "tiny.gguf.manifest", "tiny.gguf.checked");
        assertThat(lines).anyMatch(line -> line.contains("recorded the GGUF check"));
    }

    @Test
    void should_write_no_record_without_a_record_key() throws Exception {
        cache(Map.of()).ensure();

        assertThat(files()).containsExactlyInAnyOrder("tiny.gguf", "tiny.gguf.manifest");
    }

    @Test
    void should_leave_a_record_that_still_matches_as_it_is_on_the_fast_path() throws Exception {
        Path path = cache(Map.of("KNLLAMA_MODEL_RECORD_KEY", RECORD_KEY)).ensure();
        String written = Files.readString(CheckRecord.pathFor(path));
        lines.clear();

        cache(Map.of("KNLLAMA_MODEL_RECORD_KEY", RECORD_KEY)).ensure();

        assertThat(CheckRecord.pathFor(path)).hasContent(written);
        assertThat(lines).noneMatch(line -> line.contains("recorded the GGUF check"));
        assertThat(lines).anyMatch(line -> line.contains("already present, checked in"));
    }

    @Test
    void should_download_again_a_model_corrupted_in_place_once_its_record_no_longer_matches() throws Exception {
        Path path = cache(Map.of("KNLLAMA_MODEL_RECORD_KEY", RECORD_KEY)).ensure();
        FileTime modified = Files.getLastModifiedTime(path);
        ChangeTimes.awaitTickAfter(dir, FileIdentity.of(path).changed());
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.write("XXXX".getBytes(java.nio.charset.StandardCharsets.US_ASCII)); // the magic, same size
        }
        Files.setLastModifiedTime(path, modified);

        cache(Map.of("KNLLAMA_MODEL_RECORD_KEY", RECORD_KEY)).ensure();

        assertThat(path).hasBinaryContent(model);
        assertThat(hf.fullDownloads()).isEqualTo(2);
        assertThat(lines).anyMatch(line -> line.contains("cannot be used as it is") && line.contains("not a GGUF file"));
        assertThat(CheckRecord.read(path, RecordKey.of(RECORD_KEY)).orElseThrow().mismatch(path, FileIdentity.of(path))).isEmpty();
    }

    @Test
    void should_copy_a_model_from_another_volume() throws Exception {
        Path source = Files.write(tmp.resolve("tiny.gguf"), model);

        Path path = cache(Map.of("KNLLAMA_MODEL_SOURCE", source.toUri().toString())).ensure();

        assertThat(path).hasBinaryContent(model);
        assertThat(Manifest.read(Manifest.pathFor(path)).orElseThrow().source()).isEqualTo(source.toUri().toString());
    }

    @Test
    void should_take_over_a_lock_left_by_a_dead_process() throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(".tiny.gguf.lock"), "owner=pod-0 pid 1 (dead)\nacquired=…\nheartbeat=9 …\n");
        Files.writeString(dir.resolve(".tiny.gguf.dead.part"), "half a download");

        cache(Map.of("KNLLAMA_MODEL_LOCK_STALE_SECONDS", "1")).ensure();

        assertThat(dir.resolve("tiny.gguf")).hasBinaryContent(model);
        assertThat(lines).anyMatch(line -> line.contains("waiting for pod-0 pid 1 (dead)"));
        assertThat(lines).anyMatch(line -> line.contains("taking it over"));
        assertThat(lines).anyMatch(line -> line.contains("removed 1 leftover file"));
        assertThat(files()).containsExactlyInAnyOrder("tiny.gguf", "tiny.gguf.manifest");
    }

    @Test
    void should_wait_for_the_process_holding_the_lock_and_accept_what_it_publishes() throws Exception {
        Files.createDirectories(dir);
        Path target = dir.resolve("tiny.gguf");
        Log quiet = Log.to(line -> { }, Clock.systemUTC());
        Lease other = new VolumeLock(dir.resolve(".tiny.gguf.lock"), Duration.ofSeconds(30), quiet, System::nanoTime, Clock.systemUTC())
                .tryAcquire().orElseThrow();
        Thread.ofVirtual().start(() -> {
            try (other) {
                Thread.sleep(1500);
                Path part = Files.write(dir.resolve(".tiny.gguf.other.part"), model);
                new Publisher(Clock.systemUTC()).publish(part, target, SOURCE + "@main", Sha256.parse(FakeHuggingFace.sha256(model)), "other");
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });

        cache(Map.of()).ensure();

        assertThat(hf.requests()).isEmpty();
        assertThat(target).hasBinaryContent(model);
        assertThat(lines).anyMatch(line -> line.contains("waiting for") && line.contains("which is fetching tiny.gguf"));
        assertThat(lines).anyMatch(line -> line.contains("model ready") && line.contains("published by"));
    }

    @Test
    void should_fail_with_a_storage_error_when_the_directory_cannot_be_created() throws Exception {
        Path file = Files.writeString(tmp.resolve("not-a-directory"), "");

        assertThatThrownBy(() -> cache(Map.of("KNLLAMA_MODEL_DIR", file.resolve("models").toString())).ensure())
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("cannot be created")
                .hasMessageContaining("mount the shared PersistentVolumeClaim");
    }

    private ModelCache cache(Map<String, String> overrides) throws Exception {
        Map<String, String> env = new HashMap<>(Map.of("KNLLAMA_MODEL_SOURCE", SOURCE,
                "KNLLAMA_MODEL_DIR", dir.toString(), "HF_ENDPOINT", hf.endpoint().toString()));
        env.putAll(overrides);
        DownloadPolicy policy = new DownloadPolicy(Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(2), 5,
                new RetryPolicy(3, Duration.ofMillis(10), Duration.ofMillis(50), Duration.ofSeconds(1)));
        return ModelCache.create(Config.from(env, List.of()), policy, Log.to(lines::add, Clock.systemUTC()));
    }

    private List<String> files() {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(file -> file.getFileName().toString()).toList();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
