package io.knllama.e2e;

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
import java.time.Duration;

/** A streamed request read event by event; closing it early is a client disconnect. */
final class Sse implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final HttpResponse<InputStream> response;
    private final BufferedReader reader;

    private Sse(HttpResponse<InputStream> response) {
        this.response = response;
        this.reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
    }

    static Sse open(URI uri, String body, Duration timeout) {
        try {
            return new Sse(HTTP.send(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                    .timeout(timeout).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofInputStream()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static String chat(String content, int maxTokens) {
        return """
                {"model":"%s","messages":[{"role":"user","content":"%s"}],"max_tokens":%d,"stream":true}"""
                .formatted(FunctionProcess.MODEL_ID, content, maxTokens);
    }

    int status() {
        return response.statusCode();
    }

    String header(String name) {
        return response.headers().firstValue(name).orElse(null);
    }

    /** The next event's data, or {@code null} at the end. For an error status, the whole body. */
    String next() throws IOException {
        String line;
        while ((line = reader.readLine()) != null) {
            if (status() != 200) {
                return line;
            }
            if (line.startsWith("data:")) {
                return line.substring(5).strip();
            }
        }
        return null;
    }

    /** Reads to the end; returns the last event's data. */
    String drain() throws IOException {
        String last = null;
        String event;
        while ((event = next()) != null) {
            last = event;
        }
        return last;
    }

    @Override
    public void close() throws IOException {
        response.body().close();
    }
}
