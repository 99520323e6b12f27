import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * Sends one streamed OpenAI request and times it as a client sees it. Only what any OpenAI-compatible
 * server does is assumed (SSE {@code data:} lines, {@code choices[0].delta.content} or {@code choices[0].text},
 * {@code data: [DONE]}), so a target is nothing but a base URL.
 *
 * <p>Times are {@link System#nanoTime()} from just before the request is handed to the HTTP client
 * (connection set-up, if the pool has none, is included, as a real client would pay it).
 */
final class StreamClient {

    /** Which OpenAI route is driven: chat messages, or the same prompt rendered as a plain transcript. */
    enum Api { CHAT, COMPLETIONS }

    enum Outcome { OK, SHED, ERROR }

    /** A server to drive: a name for the tables, its base URL (without {@code /v1}), and the model id to send. */
    record Target(String name, URI base, String model, Map<String, Object> extraBody) {
        /** {@code base} carries no trailing slash and no {@code /v1}: {@link Options} strips both. */
        URI route(String path) {
            return URI.create(base + "/v1/" + path);
        }
    }

    /**
     * One request's fate.
     *
     * @param ttftMs       request start to the first chunk with non-empty text ({@code NaN} if none)
     * @param e2eMs        request start to {@code [DONE]} (or to the refusal, for a shed request)
     * @param gapsMs       times between successive non-empty text chunks
     * @param chunks       chunks with non-empty text
     * @param tokens       completion tokens: from {@code usage} when the server sent it, else {@code chunks}
     * @param decodeMs     first to last text chunk (the part of {@code e2eMs} spent producing tokens 2..n)
     */
    record Sample(Outcome outcome, int status, double ttftMs, double e2eMs, double[] gapsMs, int chunks, int tokens,
                  boolean tokensFromUsage, double decodeMs, String error) {

        /** Milliseconds per output token after the first, or NaN when there is no second token. */
        double tpotMs() {
            return tokens > 1 && decodeMs > 0 ? decodeMs / (tokens - 1) : Double.NaN;
        }
    }

    private final HttpClient http;
    private final Api api;
    private final int maxTokens;
    private final double temperature;
    private final Duration timeout;

    StreamClient(Api api, int maxTokens, double temperature, Duration timeout) {
        this.api = api;
        this.maxTokens = maxTokens;
        this.temperature = temperature;
        this.timeout = timeout;
        // HTTP/1.1: what the servers under test speak; virtual threads, so hundreds of open streams cost nothing.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).executor(Executors.newVirtualThreadPerTaskExecutor()).build();
    }

    /** The model ids the server lists at {@code GET /v1/models}; fails with a message naming the target. */
    List<String> models(Target target) {
        URI uri = target.route("models");
        HttpResponse<String> response;
        try {
            response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw new BenchException("target '%s': nothing answers at %s (is the server running? connection refused)"
                    .formatted(target.name(), uri));
        } catch (IOException e) {
            throw new BenchException("target '%s': GET %s failed: %s".formatted(target.name(), uri, e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted");
        }
        if (response.statusCode() != 200) {
            throw new BenchException("target '%s': GET %s answered %d: %s (is this an OpenAI-compatible base URL?)"
                    .formatted(target.name(), uri, response.statusCode(), abbreviate(response.body())));
        }
        Object body;
        try {
            body = Json.parse(response.body());
        } catch (IllegalArgumentException e) {
            throw new BenchException("target '%s': GET %s did not return JSON: %s".formatted(target.name(), uri, abbreviate(response.body())));
        }
        List<String> ids = new ArrayList<>();
        if (Json.at(body, "data") instanceof List<?> data) {
            for (Object model : data) {
                String id = Json.string(model, "id");
                if (id != null) {
                    ids.add(id);
                }
            }
        }
        return ids;
    }

    /** The request body for one prompt, as JSON text. */
    String body(Target target, String prompt) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("model", target.model());
        if (api == Api.CHAT) {
            body.put("messages", List.of(Map.of("role", "user", "content", prompt)));
        } else {
            // The transcript knllama renders for a model without a chat template, so both routes see the same text.
            body.put("prompt", "User: " + prompt.strip() + "\nAssistant:");
            body.put("stop", List.of("\nUser:"));
        }
        body.put("max_tokens", maxTokens);
        body.put("temperature", temperature);
        body.put("stream", true);
        body.put("stream_options", Map.of("include_usage", true));
        body.putAll(target.extraBody());
        return Json.compact(body);
    }

    Sample send(Target target, String body) {
        URI uri = target.route(api == Api.CHAT ? "chat/completions" : "completions");
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(timeout)
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long start = System.nanoTime();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpTimeoutException e) {
            return error(start, 0, "no response within " + timeout.toSeconds() + " s");
        } catch (IOException e) {
            return error(start, 0, "request failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(start, 0, "interrupted");
        }
        int status = response.statusCode();
        try (InputStream in = response.body();
             BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            if (status != 200) {
                String text = reader.lines().reduce("", (a, b) -> a + b);
                double ms = millisSince(start);
                boolean retryAfter = response.headers().firstValue("Retry-After").isPresent();
                if (status == 503 && retryAfter) {
                    return new Sample(Outcome.SHED, status, Double.NaN, ms, new double[0], 0, 0, false, 0, null);
                }
                return new Sample(Outcome.ERROR, status, Double.NaN, ms, new double[0], 0, 0, false, 0,
                        "HTTP " + status + (status == 503 ? " without Retry-After" : "") + ": " + abbreviate(text));
            }
            return readStream(reader, start, status);
        } catch (IOException e) {
            return error(start, status, "stream broke: " + e);
        }
    }

    private Sample readStream(BufferedReader reader, long start, int status) throws IOException {
        long first = 0;
        long last = 0;
        int chunks = 0;
        Integer usageTokens = null;
        double[] gaps = new double[64];
        String line;
        while ((line = reader.readLine()) != null) {
            if (!line.startsWith("data:")) {
                continue; // blank separators, comments, "event:" lines
            }
            long now = System.nanoTime();
            String data = line.substring(5).strip();
            if (data.equals("[DONE]")) {
                double e2e = (now - start) / 1e6;
                boolean fromUsage = usageTokens != null;
                int tokens = fromUsage ? usageTokens : chunks;
                return new Sample(Outcome.OK, status, first == 0 ? Double.NaN : (first - start) / 1e6, e2e,
                        java.util.Arrays.copyOf(gaps, Math.max(0, chunks - 1)), chunks, tokens, fromUsage,
                        chunks > 1 ? (last - first) / 1e6 : 0, null);
            }
            Object event;
            try {
                event = Json.parse(data);
            } catch (IllegalArgumentException e) {
                return error(start, status, "unparseable event: " + abbreviate(data));
            }
            if (Json.at(event, "error") != null) {
                return error(start, status, "error event in the stream: " + abbreviate(data));
            }
            String text = Json.string(event, "choices", 0, "delta", "content");
            if (text == null) {
                text = Json.string(event, "choices", 0, "text");
            }
            if (text != null && !text.isEmpty()) {
                if (first == 0) {
                    first = now;
                } else {
                    if (chunks - 1 >= gaps.length) {
                        gaps = java.util.Arrays.copyOf(gaps, gaps.length * 2);
                    }
                    gaps[chunks - 1] = (now - last) / 1e6;
                }
                last = now;
                chunks++;
            }
            Double usage = Json.number(event, "usage", "completion_tokens");
            if (usage != null) {
                usageTokens = usage.intValue();
            }
        }
        return error(start, status, "the stream ended without data: [DONE]");
    }

    private static Sample error(long start, int status, String message) {
        return new Sample(Outcome.ERROR, status, Double.NaN, millisSince(start), new double[0], 0, 0, false, 0, message);
    }

    private static double millisSince(long start) {
        return (System.nanoTime() - start) / 1e6;
    }

    static String abbreviate(String text) {
        String flat = text.replaceAll("\\s+", " ").strip();
        return flat.length() > 200 ? flat.substring(0, 200) + "…" : flat;
    }

    /** A failure the user must act on; the message says what. */
    static final class BenchException extends RuntimeException {
        BenchException(String message) {
            super(message);
        }
    }
}
