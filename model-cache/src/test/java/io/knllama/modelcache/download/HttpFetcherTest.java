package io.knllama.modelcache.download;

import io.knllama.modelcache.FakeHuggingFace;
import io.knllama.modelcache.failure.IntegrityException;
import io.knllama.modelcache.failure.SourceException;
import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.failure.UnavailableException;
import io.knllama.modelcache.log.Log;
import io.knllama.modelcache.source.BearerToken;
import io.knllama.modelcache.source.HuggingFaceHub;
import io.knllama.modelcache.source.Location;
import io.knllama.modelcache.source.ModelSource;
import io.knllama.modelcache.verify.Sha256;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
class HttpFetcherTest {

    private static final String REPO = "org/model-GGUF";
    private static final String FILE = "model.gguf";
    /** Short enough that every retry path runs in milliseconds; the stall timeout is what the stall test waits out. */
    private static final DownloadPolicy POLICY = new DownloadPolicy(Duration.ofSeconds(2), Duration.ofSeconds(5),
            Duration.ofMillis(300), 5, new RetryPolicy(4, Duration.ofMillis(10), Duration.ofMillis(40), Duration.ofSeconds(30)));

    @TempDir
    Path dir;

    private final byte[] content = new byte[3 * 1024 * 1024 + 123];
    private final List<Duration> sleeps = new CopyOnWriteArrayList<>();
    private final List<String> logLines = new CopyOnWriteArrayList<>();
    private FakeHuggingFace hf;
    private long freeSpace = Long.MAX_VALUE;

    @BeforeEach
    void startServer() throws Exception {
        new Random(7).nextBytes(content);
        hf = FakeHuggingFace.start().put(REPO, "main", FILE, content);
    }

    @AfterEach
    void stopServer() {
        hf.close();
    }

    @Test
    void downloads_through_the_hub_redirect_and_reports_the_announced_digest() throws Exception {
        Download download = fetch(hubLocation(Optional.empty()));

        assertThat(Files.readAllBytes(dir.resolve("part"))).isEqualTo(content);
        assertThat(download.size()).isEqualTo(content.length);
        assertThat(download.sha256().hex()).isEqualTo(FakeHuggingFace.sha256(content));
        assertThat(download.advertised()).contains(download.sha256());
        assertThat(hf.requests("hub")).hasSize(1);
        assertThat(hf.requests("cdn")).hasSize(1);
        assertThat(sleeps).isEmpty();
    }

    @Test
    void sends_the_token_to_the_hub_but_not_to_the_cdn_it_redirects_to() throws Exception {
        hf.requireToken("hf_secret");

        fetch(hubLocation(Optional.of(new BearerToken("hf_secret"))));

        assertThat(hf.requests("hub")).extracting(FakeHuggingFace.Request::authorization).containsExactly("Bearer hf_secret");
        assertThat(hf.requests("cdn")).extracting(FakeHuggingFace.Request::authorization).containsOnlyNulls();
    }

    @Test
    void resumes_with_a_range_request_after_the_server_cuts_the_body() throws Exception {
        hf.cutNextBodyAfter(1_000_000);

        Download download = fetch(hubLocation(Optional.empty()));

        assertThat(Files.readAllBytes(dir.resolve("part"))).isEqualTo(content);
        assertThat(download.sha256().hex()).isEqualTo(FakeHuggingFace.sha256(content));
        // Bytes in flight when the server aborts may be lost, so the resume point is at most where it cut.
        List<String> ranges = hf.requests("cdn").stream().map(FakeHuggingFace.Request::range).toList();
        assertThat(ranges).hasSize(2).first().isNull();
        long resumedAt = Long.parseLong(ranges.get(1).replaceAll("bytes=(\\d+)-", "$1"));
        assertThat(resumedAt).isBetween(1L, 1_000_000L);
        assertThat(hf.bytesServed()).isEqualTo(content.length + (1_000_000 - resumedAt));
        assertThat(hf.fullDownloads()).isEqualTo(1);
        assertThat(logLines).anyMatch(line -> line.contains("the connection") && line.contains("retrying"));
    }

    @Test
    void resumes_after_the_body_stalls_longer_than_the_stall_timeout() throws Exception {
        hf.stallNextBodyAfter(500_000);

        fetch(hubLocation(Optional.empty()));

        assertThat(Files.readAllBytes(dir.resolve("part"))).isEqualTo(content);
        assertThat(hf.requests("cdn")).extracting(FakeHuggingFace.Request::range).containsExactly(null, "bytes=500000-");
        assertThat(hf.fullDownloads()).isEqualTo(1);
        assertThat(logLines).anyMatch(line -> line.contains("no data for 300 ms"));
    }

    @Test
    void starts_over_when_a_server_answers_a_range_request_with_the_whole_file() throws Exception {
        hf.ignoreRanges().cutNextBodyAfter(1_000_000);

        Download download = fetch(hubLocation(Optional.empty()));

        assertThat(Files.readAllBytes(dir.resolve("part"))).isEqualTo(content);
        assertThat(download.sha256().hex()).isEqualTo(FakeHuggingFace.sha256(content));
        assertThat(logLines).anyMatch(line -> line.contains("whole file instead of the rest"));
    }

    @Test
    void retries_a_503_and_then_succeeds() throws Exception {
        hf.failNext(503, Map.of());

        fetch(hubLocation(Optional.empty()));

        assertThat(Files.readAllBytes(dir.resolve("part"))).isEqualTo(content);
        assertThat(sleeps).hasSize(1);
        assertThat(sleeps.getFirst()).isBetween(Duration.ofMillis(5), Duration.ofMillis(10));
    }

    @Test
    void retries_when_the_hub_does_not_answer_within_the_response_timeout() throws Exception {
        hf.delayNext(Duration.ofSeconds(3));

        fetch(hubLocation(Optional.empty()), new DownloadPolicy(Duration.ofSeconds(2), Duration.ofMillis(300),
                Duration.ofSeconds(2), 5, new RetryPolicy(4, Duration.ofMillis(10), Duration.ofMillis(40), Duration.ofSeconds(30))));

        assertThat(Files.readAllBytes(dir.resolve("part"))).isEqualTo(content);
        assertThat(logLines).anyMatch(line -> line.contains("no response from 127.0.0.1 within 300 ms; retrying"));
        assertThat(sleeps).hasSize(1);
    }

    @Test
    void waits_as_long_as_retry_after_asks_on_a_429() throws Exception {
        hf.failNext(429, Map.of("Retry-After", "7"));

        fetch(hubLocation(Optional.empty()));

        assertThat(sleeps).containsExactly(Duration.ofSeconds(7));
        assertThat(logLines).anyMatch(line -> line.contains("HTTP 429") && line.contains("retrying in 7 s"));
    }

    @Test
    void gives_up_with_an_unavailable_error_after_the_configured_attempts() {
        for (int i = 0; i < 4; i++) {
            hf.failNext(502, Map.of());
        }

        assertThatThrownBy(() -> fetch(hubLocation(Optional.empty())))
                .isInstanceOf(UnavailableException.class)
                .hasMessageContaining("HTTP 502")
                .hasMessageContaining("4 attempts");
        assertThat(sleeps).hasSize(3);
    }

    @Test
    void fails_at_once_on_401_saying_to_set_HF_TOKEN() {
        hf.requireToken("hf_secret");

        assertThatThrownBy(() -> fetch(hubLocation(Optional.empty())))
                .isInstanceOf(SourceException.class)
                .hasMessageContaining("HTTP 401")
                .hasMessageContaining("set HF_TOKEN")
                .hasMessageContaining("You must be authenticated");
        assertThat(sleeps).isEmpty();
    }

    @Test
    void says_the_token_was_rejected_when_a_401_follows_a_token() {
        hf.requireToken("hf_secret");

        assertThatThrownBy(() -> fetch(hubLocation(Optional.of(new BearerToken("hf_wrong")))))
                .isInstanceOf(SourceException.class)
                .hasMessageContaining("rejected HF_TOKEN")
                .hasMessageNotContaining("hf_wrong");
    }

    @Test
    void explains_a_403_as_a_gated_model_whose_terms_were_not_accepted() {
        hf.gate();

        assertThatThrownBy(() -> fetch(hubLocation(Optional.of(new BearerToken("hf_secret")))))
                .isInstanceOf(SourceException.class)
                .hasMessageContaining("HTTP 403")
                .hasMessageContaining("accept its terms on https://huggingface.co/" + REPO);
    }

    @Test
    void fails_at_once_on_404_saying_what_to_check() {
        Location missing = ModelSource.parse("hf://" + REPO + "/other.gguf@v2").resolve(hub(Optional.empty()));

        assertThatThrownBy(() -> fetch(missing))
                .isInstanceOf(SourceException.class)
                .hasMessageContaining("HTTP 404")
                .hasMessageContaining("Entry not found")
                .hasMessageContaining("revision");
        assertThat(sleeps).isEmpty();
    }

    @Test
    void fails_before_downloading_when_the_announced_digest_is_not_the_pinned_one() {
        Sha256 pinned = Sha256.parse("ab".repeat(32));

        assertThatThrownBy(() -> fetcher().fetch(hubLocation(Optional.empty()), PartialFile.create(dir.resolve("part")),
                Optional.of(pinned), "the model", FILE))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("KNLLAMA_MODEL_SHA256 pins " + pinned)
                .hasMessageContaining("Nothing was downloaded");
        assertThat(hf.requests("cdn")).isEmpty();
    }

    @Test
    void refuses_to_start_when_the_volume_has_less_free_space_than_the_file_needs() {
        freeSpace = 1_000_000;

        assertThatThrownBy(() -> fetch(hubLocation(Optional.empty())))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("needs 3.1 MB")
                .hasMessageContaining("1.0 MB free")
                .hasMessageContaining("PersistentVolumeClaim");
        assertThat(hf.bytesServed()).isZero();
    }

    @Test
    void downloads_a_plain_url_without_an_announced_digest_and_keeps_its_signature_out_of_the_log() throws Exception {
        URI url = hf.blobUrl(REPO, "main", FILE);

        Download download = fetch(ModelSource.parse(url.toString()).resolve(hub(Optional.empty())));

        assertThat(download.advertised()).isEmpty();
        assertThat(download.sha256().hex()).isEqualTo(FakeHuggingFace.sha256(content));
        assertThat(logLines).isNotEmpty().noneMatch(line -> line.contains("secret"));
    }

    @Test
    void logs_progress_with_percent_rate_and_eta_while_downloading() throws Exception {
        hf.throttle(1_200_000);

        fetch(hubLocation(Optional.empty()));

        assertThat(logLines).anyMatch(line -> line.matches(".*downloading model\\.gguf: \\d+% [\\d.]+ of 3\\.1 MB, [\\d.]+ MB/s, ETA \\d+s"));
        assertThat(logLines).anyMatch(line -> line.contains("downloaded 3.1 MB in"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"file:///etc/passwd", "ftp://mirror.example/model.gguf"})
    void refuses_a_redirect_to_anything_but_http_as_a_source_error(String target) {
        hf.failNext(302, Map.of("Location", target));

        assertThatThrownBy(() -> fetch(hubLocation(Optional.empty())))
                .isInstanceOf(SourceException.class)
                .hasMessageContaining("redirected to " + target)
                .hasMessageContaining("only to http:// and https://");
        assertThat(hf.requests("cdn")).isEmpty();
    }

    @Test
    void names_status_and_url_of_a_refusal_where_a_redirect_led_but_never_its_body_or_query() {
        hf.failNextBlob(403, Map.of("X-Error-Message", "token hunter2"),
                "{\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"wJalrXUtnFEMI-hunter2\"}");

        assertThatThrownBy(() -> fetch(hubLocation(Optional.empty())))
                .isInstanceOf(SourceException.class)
                .hasMessageContaining("HTTP 403")
                .hasMessageContaining("/blobs/" + FakeHuggingFace.sha256(content) + "?…")
                .hasMessageNotContaining("hunter2")
                .hasMessageNotContaining("ASIAEXAMPLE")
                .hasMessageNotContaining("X-Amz-Signature");
        assertThat(logLines).noneMatch(line -> line.contains("hunter2") || line.contains("ASIAEXAMPLE"));
    }

    @Test
    void keeps_the_body_of_a_server_error_where_a_redirect_led_out_of_the_retry_log() throws Exception {
        hf.failNextBlob(503, Map.of(), "{\"SecretAccessKey\":\"wJalrXUtnFEMI-hunter2\"}");

        fetch(hubLocation(Optional.empty()));

        assertThat(Files.readAllBytes(dir.resolve("part"))).isEqualTo(content);
        assertThat(logLines).anyMatch(line -> line.contains("HTTP 503") && line.contains("retrying"));
        assertThat(logLines).noneMatch(line -> line.contains("hunter2"));
    }

    @Test
    void stops_a_chunked_body_that_goes_on_past_the_size_the_hub_announced() throws Exception {
        hf.endlessNextBody(64_000_000);

        assertThatThrownBy(() -> fetch(hubLocation(Optional.empty())))
                .isInstanceOf(IntegrityException.class)
                .hasMessageContaining("sent more than the 3.1 MB it announced");
        assertThat(Files.size(dir.resolve("part"))).isLessThanOrEqualTo(content.length);
    }

    @Test
    void stops_a_body_that_announces_no_size_at_the_configured_maximum() throws Exception {
        URI url = hf.blobUrl(REPO, "main", FILE);
        hf.endlessNextBody(64_000_000);

        assertThatThrownBy(() -> fetch(ModelSource.parse(url.toString()).resolve(hub(Optional.empty())), POLICY.withMaxBytes(4_000_000)))
                .isInstanceOf(SourceException.class)
                .hasMessageContaining("sent more than 4.0 MB without announcing its size")
                .hasMessageContaining("KNLLAMA_MODEL_MAX_SIZE");
        assertThat(Files.size(dir.resolve("part"))).isLessThanOrEqualTo(4_000_000);
    }

    @Test
    void refuses_a_file_announced_larger_than_the_configured_maximum_before_downloading() {
        assertThatThrownBy(() -> fetch(hubLocation(Optional.empty()), POLICY.withMaxBytes(1_000_000)))
                .isInstanceOf(SourceException.class)
                .hasMessageContaining("is 3.1 MB, more than KNLLAMA_MODEL_MAX_SIZE (1.0 MB)");
        assertThat(hf.requests("cdn")).isEmpty();
    }

    private Download fetch(Location location) throws Exception {
        return fetch(location, POLICY);
    }

    private Download fetch(Location location, DownloadPolicy policy) throws Exception {
        try (PartialFile part = PartialFile.create(dir.resolve("part"))) {
            return fetcher(policy).fetch((Location.Http) location, part, Optional.empty(), "the model", FILE);
        }
    }

    private HttpFetcher fetcher() {
        return fetcher(POLICY);
    }

    private HttpFetcher fetcher(DownloadPolicy policy) {
        Log log = Log.to(logLines::add, Clock.systemUTC());
        return new HttpFetcher(policy, directory -> freeSpace, sleeps::add, log);
    }

    private Location.Http hubLocation(Optional<BearerToken> token) {
        return (Location.Http) ModelSource.parse("hf://" + REPO + "/" + FILE).resolve(hub(token));
    }

    private HuggingFaceHub hub(Optional<BearerToken> token) {
        return new HuggingFaceHub(hf.endpoint(), token);
    }
}
