package io.knllama.testing;

import io.knllama.gguf.GgufWriter;
import io.knllama.gguf.TinyModel;
import io.knllama.inference.LlamaEngine;
import io.micronaut.context.ApplicationContext;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import io.micronaut.runtime.server.EmbeddedServer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The function on a real port, serving a tiny GGUF written for the test, with a plain JDK HTTP client:
 * tests talk to it the way any client does.
 */
public final class TestServer implements AutoCloseable {

    public static final String MODEL = "tiny";

    private final EmbeddedServer server;
    private final Path directory;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final JsonMapper json;

    private TestServer(EmbeddedServer server, Path directory) {
        this.server = server;
        this.directory = directory;
        this.json = server.getApplicationContext().getBean(JsonMapper.class);
    }

    /** Starts on the default random-weight tiny model. */
    public static TestServer start(Map<String, Object> properties) {
        return start(TinyModel.builder().build(), properties);
    }

    /** Starts on the given model with 2 slots (unless overridden) and waits until it is loaded. */
    public static TestServer start(GgufWriter model, Map<String, Object> properties) {
        try {
            Path directory = Files.createTempDirectory("knllama-test");
            Path file = model.write(directory.resolve("tiny.gguf"));
            Map<String, Object> all = new HashMap<>();
            all.put("micronaut.server.port", -1);
            all.put("knllama.model.path", file.toString());
            all.put("knllama.model.id", MODEL);
            all.put("knllama.model.context-size", 512);
            all.put("knllama.engine.slots", 2);
            all.put("knllama.engine.threads", 2);
            all.putAll(properties);
            EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, all);
            TestServer test = new TestServer(server, directory);
            test.awaitReady();
            return test;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void awaitReady() {
        LlamaEngine engine = server.getApplicationContext().getBean(LlamaEngine.class);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!engine.ready()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("model did not load within 30 s");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * Waits until no slot is busy, e.g. after a test cancelled its generation. {@code limit} only keeps a broken
     * server from hanging the build; what a test asserts is what happened (an outcome), never how long it took.
     */
    public void awaitIdle(Duration limit) {
        long start = System.nanoTime();
        while (!get("/metrics").body().contains("knllama_slots_busy 0.0")) {
            if (System.nanoTime() - start > limit.toNanos()) {
                throw new AssertionError("slots still busy after " + limit);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** {@code knllama_requests_total} for one outcome ({@code stop}, {@code cancelled}, ...), read from {@code /metrics}. */
    public double requests(String outcome) {
        java.util.regex.Matcher count = java.util.regex.Pattern.compile(
                "(?m)^knllama_requests_total\\{[^}]*outcome=\"" + outcome + "\"[^}]*} ([0-9.]+)$").matcher(get("/metrics").body());
        return count.find() ? Double.parseDouble(count.group(1)) : 0;
    }

    public ApplicationContext context() {
        return server.getApplicationContext();
    }

    public URI uri(String path) {
        return URI.create("http://localhost:" + server.getPort() + path);
    }

    public Response post(String path, String body) {
        return post(path, body, Map.of());
    }

    public Response post(String path, String body, Map<String, String> headers) {
        return send(builder(path, headers).POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    public Response postBytes(String path, byte[] body, String contentType) {
        return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", contentType)
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    public Response get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60)).GET());
    }

    public Response send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Response(response.statusCode(), response.headers().map(), response.body(), json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Opens a streaming request; the caller reads events and may close it early (a disconnect). */
    public Stream stream(String path, String body) {
        return stream(path, body, Map.of());
    }

    public Stream stream(String path, String body, Map<String, String> headers) {
        try {
            HttpResponse<InputStream> response = http.send(builder(path, headers).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            return new Stream(response, json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private HttpRequest.Builder builder(String path, Map<String, String> headers) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60));
        headers.forEach(builder::header);
        return builder;
    }

    @Override
    public void close() throws IOException {
        server.getApplicationContext().close();
        try (var files = Files.walk(directory)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    public record Response(int status, Map<String, List<String>> headers, String body, JsonMapper mapper) {
        public JsonNode json() {
            try {
                return mapper.readValue(body, JsonNode.class);
            } catch (IOException e) {
                throw new AssertionError("not JSON (status " + status + "): " + body, e);
            }
        }

        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .flatMap(e -> e.getValue().stream()).findFirst().orElse(null);
        }
    }

    /** A server-sent event stream, read one {@code data:} payload at a time. */
    public static final class Stream implements AutoCloseable {
        private final HttpResponse<InputStream> response;
        private final BufferedReader reader;
        private final JsonMapper json;

        Stream(HttpResponse<InputStream> response, JsonMapper json) {
            this.response = response;
            this.reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
            this.json = json;
        }

        public int status() {
            return response.statusCode();
        }

        public String header(String name) {
            return response.headers().firstValue(name).orElse(null);
        }

        /** The next event's data, or {@code null} at the end of the stream. */
        public String next() throws IOException {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.startsWith("data:")) {
                    return line.substring(5).strip();
                }
            }
            return null;
        }

        /** The next raw line (one object of a newline-delimited JSON stream), or {@code null} at the end. */
        public String nextLine() throws IOException {
            return reader.readLine();
        }

        /** Every remaining event's data. */
        public List<String> rest() throws IOException {
            List<String> events = new ArrayList<>();
            String event;
            while ((event = next()) != null) {
                events.add(event);
            }
            return events;
        }

        public JsonNode parse(String data) throws IOException {
            return json.readValue(data, JsonNode.class);
        }

        @Override
        public void close() throws IOException {
            response.body().close();
        }
    }
}
