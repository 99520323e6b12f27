package io.knllama.kubernetes;

import io.knllama.auth.OpenApiWarning;
import io.knllama.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

class ApiKeySecretWatchTest {

    private static final String FIRST = "sk-first-0123456789abcdef";
    private static final String SECOND = "sk-second-0123456789abcdef";

    private FakeSecretsApi api;
    private TestServer server;

    private void start(String keyInSecret) throws Exception {
        start(new FakeSecretsApi("serving", "knllama-secrets", keyInSecret), Map.of());
    }

    /**
     * Starts the function on {@code fake} with the key {@link #FIRST}, the Secret knllama-secrets watched at once in
     * namespace serving, and {@code changes} on top; the settings named in {@code without} are left out.
     */
    private void start(FakeSecretsApi fake, Map<String, Object> changes, String... without) {
        api = fake;
        Map<String, Object> properties = new HashMap<>(Map.of(
                "knllama.api.key", FIRST,
                "knllama.api.watched-secret", "knllama-secrets",
                "knllama.api.watch-delay", "0s",
                "kubernetes.client.base-path", fake.url(),
                "kubernetes.client.namespace", "serving"));
        properties.putAll(changes);
        properties.keySet().removeAll(List.of(without));
        server = TestServer.start(properties);
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        if (api != null) {
            api.close();
        }
    }

    @Test
    void a_key_changed_in_the_watched_secret_is_the_only_one_accepted_from_then_on() throws Exception {
        start(FIRST);
        await(api::watched);

        api.emit("MODIFIED", SECOND, 2);
        await(() -> status(SECOND) == 200);

        assertThat(status(FIRST)).isEqualTo(401);
        assertThat(server.send(HttpRequest.newBuilder(server.uri("/v1/models")).header("Authorization", "Bearer " + FIRST).GET())
                .json().get("error").get("message").getStringValue()).isEqualTo("Incorrect API key provided.");
    }

    @Test
    void watches_the_one_named_secret_in_the_configured_namespace() throws Exception {
        start(FIRST);
        await(api::watched);

        assertThat(api.requests()).isNotEmpty().allSatisfy(request -> assertThat(request)
                .startsWith("/api/v1/namespaces/serving/secrets?")
                .contains("fieldSelector=metadata.name=knllama-secrets"));
    }

    /**
     * A pod's credentials, as the client finds them in a pod: the service account's token file and the cluster's CA
     * certificate. The CA is parsed into the client's TLS set-up without a library the build leaves out; the stand-in
     * API is plain HTTP, so no handshake happens here (scripts/check-key-rotation.sh runs one, against a real API server).
     */
    @Test
    void authenticates_with_the_service_account_token_file_and_takes_the_cluster_ca(@TempDir Path dir) throws Exception {
        Path token = Files.writeString(dir.resolve("token"), "service-account-token-0123\n");
        Path ca = Path.of(getClass().getResource("/kubernetes/ca.crt").toURI());
        start(new FakeSecretsApi("serving", "knllama-secrets", SECOND), Map.of(
                "kubernetes.client.token-path", token.toString(),
                "kubernetes.client.ca-path", ca.toString()));

        await(() -> status(SECOND) == 200);
        assertThat(api.credentials()).isNotEmpty().allSatisfy(header -> assertThat(header).isEqualTo("Bearer service-account-token-0123"));
    }

    @Test
    void a_key_already_different_when_the_watch_starts_replaces_the_one_read_at_start() throws Exception {
        start(SECOND);

        await(() -> status(SECOND) == 200);
        assertThat(status(FIRST)).isEqualTo(401);
    }

    /** What the key in force is after each refused change: ApiKeysTest. Here: such changes do not end the watch. */
    @Test
    void a_secret_that_loses_its_key_or_is_deleted_does_not_end_the_watch() throws Exception {
        start(FIRST);
        await(api::watched);

        api.emit("MODIFIED", "too-short", 2);
        api.emit("MODIFIED", null, 3);
        api.emit("DELETED", null, 4);
        api.emit("ADDED", SECOND, 5);
        await(() -> status(SECOND) == 200);

        assertThat(status(FIRST)).isEqualTo(401);
        assertThat(status("too-short")).isEqualTo(401);
    }

    @Test
    void a_watch_the_api_refuses_keeps_the_key_read_at_start_and_is_retried_until_allowed() throws Exception {
        FakeSecretsApi refusing = new FakeSecretsApi("serving", "knllama-secrets", SECOND);
        refusing.listAnswers(403);
        start(refusing, Map.of());
        await(() -> !api.requests().isEmpty());

        assertThat(status(FIRST)).isEqualTo(200);
        assertThat(status(SECOND)).isEqualTo(401);

        api.listAnswers(200);
        await(() -> status(SECOND) == 200);
        assertThat(status(FIRST)).isEqualTo(401);
    }

    @Test
    void the_watch_waits_its_delay_after_the_model_is_loaded_so_the_first_requests_do_not_pay_for_it() throws Exception {
        start(new FakeSecretsApi("serving", "knllama-secrets", SECOND), Map.of("knllama.api.watch-delay", "1h"));

        assertThat(status(FIRST)).isEqualTo(200);
        // Started at once, the watch would have listed the Secret within this time (milliseconds in the tests above).
        Thread.sleep(2000);
        assertThat(api.requests()).isEmpty();
        assertThat(status(FIRST)).isEqualTo(200);
    }

    @Test
    void a_pod_told_its_key_secret_but_given_no_key_serves_an_open_api_and_says_so_without_calling_the_api() throws Exception {
        start(new FakeSecretsApi("serving", "knllama-secrets", SECOND), Map.of(), "knllama.api.key");

        assertThat(server.get("/v1/models").status()).isEqualTo(200);
        assertThat(server.context().containsBean(OpenApiWarning.class)).isTrue();
        assertThat(server.context().containsBean(ApiKeySecretWatch.class)).isFalse();
        Thread.sleep(500);
        assertThat(api.requests()).isEmpty();
    }

    @Test
    void without_a_secret_to_watch_the_function_never_calls_the_kubernetes_api() throws Exception {
        start(new FakeSecretsApi("serving", "knllama-secrets", SECOND), Map.of(), "knllama.api.watched-secret");

        assertThat(status(FIRST)).isEqualTo(200);
        assertThat(server.context().containsBean(ApiKeySecretWatch.class)).isFalse();
        assertThat(api.requests()).isEmpty();
    }

    private int status(String key) {
        return server.send(HttpRequest.newBuilder(server.uri("/v1/models")).header("Authorization", "Bearer " + key).GET()).status();
    }

    /** Waits for what the watch does in the background; the limit only keeps a broken build from hanging. */
    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not reached within 20 s");
            }
            Thread.sleep(20);
        }
    }
}
