package io.knllama.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The packaged function ({@code java -jar function.jar}) as a real process on a free port, its output
 * in {@code target/e2e-logs/<name>.log}. Started the way an operator starts it: environment variables only.
 */
final class FunctionProcess implements AutoCloseable {

    static final Path JAR = Path.of(System.getProperty("knllama.e2e.jar", "../function/target/function.jar"));
    static final Path MODEL = Path.of(System.getProperty("knllama.e2e.model",
            System.getProperty("user.home") + "/.cache/knllama/models/gemma-3-270m-q4_k_m.gguf"));
    static final String MODEL_ID = "gemma-3-270m-q4_k_m";
    private static final Path LOGS = Path.of(System.getProperty("knllama.e2e.logs", "target/e2e-logs"));

    private final Process process;
    private final Path log;
    private final int port;
    private final HttpClient http = HttpClient.newHttpClient();

    private FunctionProcess(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    /** Starts the function on the default model with these extra environment variables (PORT among them, or a free one), without waiting. */
    static FunctionProcess launch(String name, Map<String, String> environment) {
        try {
            Files.createDirectories(LOGS);
            int port = environment.containsKey("PORT") ? Integer.parseInt(environment.get("PORT")) : freePort();
            Path log = LOGS.resolve(name + ".log");
            String java = ProcessHandle.current().info().command().orElse("java");
            ProcessBuilder builder = new ProcessBuilder(List.of(java, "-jar", JAR.toString()))
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            Map<String, String> env = new HashMap<>(Map.of(
                    "PORT", Integer.toString(port),
                    "KNLLAMA_MODEL_PATH", MODEL.toString(),
                    "KNLLAMA_ENGINE_THREADS", "2"));
            env.putAll(environment);
            builder.environment().putAll(env);
            return new FunctionProcess(builder.start(), log, port);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts the function and waits until it reports ready. */
    static FunctionProcess start(String name, Map<String, String> environment) {
        FunctionProcess function = launch(name, environment);
        function.awaitReady(Duration.ofSeconds(90));
        return function;
    }

    void awaitReady(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("the function exited with " + process.exitValue() + ":\n" + log());
            }
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri("/health/readiness"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            sleep(100);
        }
        throw new AssertionError("the function did not become ready within " + limit + ":\n" + log());
    }

    /** The {@code knllama_slots_busy} gauge, read from {@code /metrics}. */
    int busySlots() {
        java.util.regex.Matcher busy = java.util.regex.Pattern.compile("(?m)^knllama_slots_busy(?:\\{[^}]*})? ([0-9.]+)$").matcher(metrics());
        if (!busy.find()) {
            throw new AssertionError("no knllama_slots_busy in /metrics");
        }
        return (int) Double.parseDouble(busy.group(1));
    }

    /** {@code knllama_requests_total} for one outcome ({@code stop}, {@code cancelled}, ...), read from {@code /metrics}. */
    double requests(String outcome) {
        java.util.regex.Matcher count = java.util.regex.Pattern.compile(
                "(?m)^knllama_requests_total\\{[^}]*outcome=\"" + outcome + "\"[^}]*} ([0-9.]+)$").matcher(metrics());
        return count.find() ? Double.parseDouble(count.group(1)) : 0;
    }

    private String metrics() {
        try {
            return http.send(HttpRequest.newBuilder(uri("/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Waits until no slot is busy (a previous test's generations may still be finishing). */
    void awaitIdle() {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (busySlots() > 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("slots still busy after 120 s");
            }
            sleep(100);
        }
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    String baseUrl() {
        return "http://127.0.0.1:" + port + "/v1";
    }

    Process process() {
        return process;
    }

    /** Sends SIGTERM, as Kubernetes does. */
    void terminate() {
        process.destroy();
    }

    /** The exit status, or -1 if the process is still running after {@code limit}. */
    int awaitExit(Duration limit) {
        try {
            return process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    String log() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            awaitExit(Duration.ofSeconds(10));
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
