package io.knllama.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.knllama.knative.Repo;
import io.knllama.knative.Tools;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Knative's data path in front of the function, without a cluster: Knative's own queue-proxy (built from
 * knative.dev/serving at the pinned version by scripts/build-tools.sh) runs as a process in front of the
 * packaged function, both with the environment Knative's code derives from the rendered cpu overlay
 * ({@code manifest-check queue-env}: the Deployment Knative's revision reconciler builds). Two changes,
 * both made to the Revision before Knative's code runs: the function's port is a free one, and every
 * timeout (the Revision's and the function's own durations) is divided by {@value #TIME_DIVISOR}, so the
 * deployment's timing, proportions kept, runs in seconds. Afterwards only queue-proxy's own serving ports
 * are replaced (free ones; its admin (8022) and metrics (9090) ports are fixed, so only one such test can
 * run on a machine at a time) and the engine's wait for a slot is not divided (see {@link #start()}).
 * queue-proxy's drain on SIGTERM waits a fixed 30 s after the last request, so the last test takes that long.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class QueueProxyIT {

    private static final int TIME_DIVISOR = 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** HTTP/1.1, as the activator talks to a Revision whose port is named http1 (an h2c upgrade would make queue-proxy speak HTTP/2 to the function). */
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    /**
     * Gemma's end-of-text and end-of-turn tokens, banned so that a completion (no chat transcript, so no stop
     * at a next "User:" turn) runs until its token limit or the function's request timeout ends it.
     */
    private static final String NO_END = "\"logit_bias\":{\"1\":-100,\"106\":-100}";
    private static final Path LOGS = Path.of(System.getProperty("knllama.e2e.logs", "target/e2e-logs"));
    /**
     * The kubelet's user agent: queue-proxy answers a probe itself only when it comes from the kubelet (or the
     * activator); any other request, probe header or not, is proxied to the function.
     */
    private static final String KUBELET = "kube-probe/1.34";
    /** queue-proxy holds a kubelet probe while it polls the function, for up to 10 s (readiness.PollTimeout). */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(15);

    private static JsonNode pod;
    private static Process queueProxy;
    private static FunctionProcess function;
    private static int queuePort;

    @BeforeAll
    static void start() throws Exception {
        for (int fixed : new int[] {8022, 9090}) {
            boolean free = portFree(fixed);
            if (!free) {
                System.out.println("SKIPPED: port " + fixed + " is taken, and queue-proxy binds it (another queue-proxy test running?)");
            }
            assumeTrue(free, "queue-proxy's fixed port " + fixed + " is taken");
        }
        Path manifestCheck = Tools.manifestCheck();
        Path queueProxyBinary = Tools.queueProxy();
        Path work = Files.createDirectories(Path.of("target/queue-proxy"));
        var render = Repo.run(Duration.ofMinutes(1), false, "kubectl", "kustomize", "knative/overlays/cpu");
        assertThat(render.exitCode()).as(render.output()).isZero();
        Path rendered = Files.writeString(work.resolve("cpu.yaml").toAbsolutePath(), render.output());

        int userPort = FunctionProcess.freePort();
        var derived = Repo.run(Duration.ofMinutes(1), false, manifestCheck.toString(), "queue-env",
                "--features", Repo.ROOT.resolve("knative/cluster/config-features.yaml").toString(),
                "--time-divisor", Integer.toString(TIME_DIVISOR), "--user-port", Integer.toString(userPort), rendered.toString(), "knllama");
        assertThat(derived.exitCode()).as(derived.output()).isZero();
        pod = JSON.readTree(derived.output());
        System.out.println("queue-proxy's environment, from Knative's code: " + pod.get("queueEnv"));

        queuePort = FunctionProcess.freePort();
        Map<String, String> queueEnv = strings(pod.get("queueEnv"));
        queueEnv.put("QUEUE_SERVING_PORT", Integer.toString(queuePort));
        queueEnv.put("QUEUE_SERVING_TLS_PORT", Integer.toString(FunctionProcess.freePort()));
        ProcessBuilder builder = new ProcessBuilder(queueProxyBinary.toString()).redirectErrorStream(true)
                .redirectOutput(Files.createDirectories(LOGS).resolve("queue-proxy.log").toFile());
        builder.environment().clear();
        builder.environment().putAll(queueEnv);
        queueProxy = builder.start();

        // Started after queue-proxy, so queue-proxy's probing sees the whole model load.
        Map<String, String> functionEnv = strings(pod.get("functionEnv"));
        functionEnv.remove("KNLLAMA_MODEL_PATH"); // the test's copy of the model, set by FunctionProcess
        // Not divided: the engine's wait for a slot absorbs the moment between queue-proxy releasing a request
        // and the engine freeing its slot (a cancelled generation stops at its next token), which takes
        // token time, not a share of Knative's timers; 30 s / 20 is shorter than a token on a loaded machine.
        // Still below the (divided) request timeout, as the validator requires.
        functionEnv.put("KNLLAMA_ENGINE_MAX_QUEUE_WAIT", "10s");
        function = FunctionProcess.launch("queue-proxy-function", functionEnv);
    }

    @AfterAll
    static void stop() throws Exception {
        if (queueProxy != null && queueProxy.isAlive()) {
            queueProxy.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (function != null) {
            function.close();
        }
    }

    @Test
    @Order(1)
    void queue_proxy_reports_ready_only_once_the_model_is_loaded() throws Exception {
        int notReady = 0;
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (true) {
            assertThat(System.nanoTime()).as("queue-proxy ready within 120 s; the function's log:%n%s", function.log()).isLessThan(deadline);
            assertThat(queueProxy.isAlive()).as("queue-proxy is running; its log:%n%s", log("queue-proxy")).isTrue();
            Integer status = queueReadiness();
            if (status != null && status == 200) {
                // What the kubelet marks the pod ready on, and so the activator sends requests on: only
                // once the model is loaded (the function's own readiness, which answers 503 while loading).
                assertThat(get(function.uri("/health/readiness")).statusCode()).isEqualTo(200);
                assertThat(function.log()).contains(" loaded in ");
                break;
            }
            // Not listening yet, or 503: queue-proxy probed the function aggressively and never got a 200.
            assertThat(status).as("queue-proxy's answer to the kubelet's probe before the model is loaded").isIn(null, 503);
            notReady += status == null ? 0 : 1;
            FunctionProcess.sleep(50);
        }
        System.out.printf("queue-proxy answered 'not ready' %d time(s) before the model was loaded%n", notReady);
    }

    @Test
    @Order(2)
    void a_non_streamed_answer_as_long_as_the_function_allows_completes() throws Exception {
        // The longest a non-streamed answer can stay silent: an answer that would run on is ended by the
        // function at KNLLAMA_ENGINE_REQUEST_TIMEOUT (570 s, here 28.5 s) as if its token limit was reached,
        // and written in one piece then. The manifests' old idle timeout (60 s, here 3 s) and response-start
        // timeout (120 s, here 6 s) cut such an answer with a 504 (issue 15, defect 1); every timer must
        // outlast it, as the validator requires.
        String body = """
                {"model":"%s","prompt":"Once upon a time","max_tokens":4000,%s}""".formatted(modelId(), NO_END);
        awaitReadyAndIdle();
        long started = System.nanoTime();

        HttpResponse<String> response = post("/v1/completions", body);

        System.out.printf("non-streamed answer through queue-proxy: %d in %.1f s%n", response.statusCode(), (System.nanoTime() - started) / 1e9);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode answer = JSON.readTree(response.body());
        assertThat(answer.at("/choices/0/finish_reason").asText()).isEqualTo("length");
        assertThat(answer.at("/usage/completion_tokens").asInt()).isPositive();
    }

    @Test
    @Order(3)
    void a_stream_passes_queue_proxy_chunk_by_chunk() throws Exception {
        awaitReadyAndIdle();
        try (Sse stream = Sse.open(queueUri("/v1/completions"), streamed(300), Duration.ofSeconds(60))) {
            String first = stream.next();

            assertThat(first).contains("text_completion");
            // The first chunk is here while the answer is still being generated: queue-proxy did not hold it back.
            assertThat(function.busySlots()).isEqualTo(1);
            assertThat(stream.drain()).isEqualTo("[DONE]");
        }
    }

    @Test
    @Order(4)
    void requests_beyond_container_concurrency_wait_in_queue_proxy_not_in_the_engine() throws Exception {
        awaitReadyAndIdle();
        int slots = pod.get("containerConcurrency").asInt();
        assertThat(slots).isEqualTo(2);
        try (Socket first = Sse.openRaw(queueUri("/v1/completions"), streamed(2000));
             Socket second = Sse.openRaw(queueUri("/v1/completions"), streamed(2000))) {
            CompletableFuture<HttpResponse<String>> third = HTTP.sendAsync(request("/v1/chat/completions", """
                    {"model":"%s","messages":[{"role":"user","content":"Say hi."}],"max_tokens":4}""".formatted(modelId())),
                    HttpResponse.BodyHandlers.ofString());

            // queue-proxy holds three requests (its own statistics, which Knative's autoscaler reads)...
            await(() -> queueProxyConcurrency() >= 2.99, "queue-proxy to hold three requests");
            // ...of which the engine has only the two it can run: none waits in the function.
            assertThat(function.busySlots()).isEqualTo(slots);
            assertThat(metric("knllama_queue_depth")).isZero();
            assertThat(third).isNotDone();

            first.close(); // a client disconnect frees a slot, and queue-proxy lets the third through
            HttpResponse<String> answered = third.get(60, TimeUnit.SECONDS);
            assertThat(answered.statusCode()).as(answered.body()).isEqualTo(200);
        }
    }

    @Test
    @Order(5)
    void on_sigterm_queue_proxy_drains_and_in_flight_streams_finish() throws Exception {
        awaitReadyAndIdle();
        try (Sse stream = Sse.open(queueUri("/v1/completions"), streamed(300), Duration.ofSeconds(120))) {
            assertThat(stream.next()).contains("text_completion");

            // What the kubelet does when the pod is deleted: SIGTERM to queue-proxy, and the preStop hook
            // Knative gives the function's container (queue-proxy's /wait-for-drain), before its SIGTERM.
            queueProxy.destroy();
            JsonNode preStop = pod.get("preStop");
            CompletableFuture<HttpResponse<String>> drained = HTTP.sendAsync(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + preStop.get("port").asInt() + preStop.get("path").asText())).timeout(Duration.ofSeconds(120)).build(),
                    HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> duringDrain = post("/v1/chat/completions", """
                    {"model":"%s","messages":[{"role":"user","content":"Say hi."}],"max_tokens":4}""".formatted(modelId()));

            assertThat(duringDrain.statusCode()).as("a request that arrives while queue-proxy drains").isEqualTo(200);
            assertThat(stream.drain()).as("the stream in flight at SIGTERM").isEqualTo("[DONE]");
            assertThat(drained.get(120, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
            function.terminate();
            assertThat(function.awaitExit(Duration.ofSeconds(30))).as("the function's exit (SIGTERM gives 143); its log:%n%s", function.log())
                    .isIn(0, 143);
            assertThat(queueProxy.waitFor(120, TimeUnit.SECONDS)).isTrue();
            assertThat(queueProxy.exitValue()).as(log("queue-proxy")).isZero();
        }
    }

    /** Each test can run on its own (the first one watches the model load): the model loaded, no slot busy. */
    private static void awaitReadyAndIdle() {
        function.awaitReady(Duration.ofSeconds(120));
        function.awaitIdle();
    }

    private static String modelId() {
        return pod.at("/functionEnv/KNLLAMA_MODEL_ID").asText();
    }

    private static String streamed(int maxTokens) {
        return """
                {"model":"%s","prompt":"Once upon a time","max_tokens":%d,"stream":true,%s}""".formatted(modelId(), maxTokens, NO_END);
    }

    private static URI queueUri(String path) {
        return URI.create("http://127.0.0.1:" + queuePort + path);
    }

    private static HttpRequest request(String path, String body) {
        return HttpRequest.newBuilder(queueUri(path)).header("Content-Type", "application/json").timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(request(path, body), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(URI uri) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** queue-proxy's readiness, probed as the kubelet does with Knative's probe; null while it does not listen yet. */
    private static Integer queueReadiness() throws InterruptedException {
        JsonNode probe = pod.get("queueReadiness");
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + queuePort + probe.get("path").asText("/")))
                .header("User-Agent", KUBELET).timeout(PROBE_TIMEOUT);
        probe.get("headers").properties().forEach(h -> request.header(h.getKey(), h.getValue().asText()));
        try {
            return HTTP.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.net.ConnectException notListening) {
            return null;
        } catch (IOException e) {
            throw new AssertionError("queue-proxy's readiness probe: " + e, e);
        }
    }

    /**
     * The average number of requests queue-proxy held over its last one-second report: field 2
     * (average_concurrent_requests, a double) of the protobuf Stat (knative.dev/serving
     * pkg/autoscaler/metrics/stat.proto) it serves on its metrics port (9090) to Knative's autoscaler.
     */
    private static double queueProxyConcurrency() throws Exception {
        byte[] stat = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:9090/metrics")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofByteArray()).body();
        CodedInputStream in = CodedInputStream.newInstance(stat);
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (WireFormat.getTagFieldNumber(tag) == 2 && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_FIXED64) {
                return in.readDouble();
            }
            in.skipField(tag);
        }
        return 0; // proto3 does not write a zero double
    }

    private static double metric(String name) throws Exception {
        String metrics = get(function.uri("/metrics")).body();
        var matcher = java.util.regex.Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? ([0-9.eE+-]+)$").matcher(metrics);
        assertThat(matcher.find()).as("%s in /metrics", name).isTrue();
        return Double.parseDouble(matcher.group(1));
    }

    private interface Condition {
        boolean holds() throws Exception;
    }

    private static void await(Condition condition, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.holds()) {
            assertThat(System.nanoTime()).as("waiting for %s", what).isLessThan(deadline);
            FunctionProcess.sleep(100);
        }
    }

    private static Map<String, String> strings(JsonNode object) {
        Map<String, String> map = new HashMap<>();
        object.properties().forEach(e -> map.put(e.getKey(), e.getValue().asText()));
        return map;
    }

    private static boolean portFree(int port) {
        try (ServerSocket socket = new ServerSocket(port)) {
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    private static String log(String name) {
        try {
            return Files.readString(LOGS.resolve(name + ".log"));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
