package io.knllama.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The function's side: the same prompt and settings as a streamed {@code /v1/completions} request. */
final class FunctionClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final URI completions;
    private final String model;
    private final String body;

    FunctionClient(URI base, String model, String prompt, List<String> stop, int maxTokens)
            throws IOException, InterruptedException {
        String root = base.toString().replaceAll("/+$", "").replaceAll("/v1$", "");
        this.completions = URI.create(root + "/v1/completions");
        this.model = model != null ? model : firstModel(URI.create(root + "/v1/models"));
        // No cache_prompt: the function refuses llama.cpp's own fields and reuses prompts by its own setting.
        this.body = JSON.writeValueAsString(Map.of("model", this.model, "prompt", prompt, "stop", stop,
                "max_tokens", maxTokens, "temperature", 0, "stream", true, "stream_options", Map.of("include_usage", true)));
    }

    String model() {
        return model;
    }

    Sample send() {
        HttpRequest request = HttpRequest.newBuilder(completions).timeout(Duration.ofMinutes(5))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        List<Double> gaps = new ArrayList<>();
        long start = System.nanoTime();
        long first = 0;
        long last = 0;
        int tokens = -1;
        boolean done = false;
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                if (response.statusCode() != 200) {
                    throw new IllegalStateException("the function answered " + response.statusCode() + ": " + lines.readLine());
                }
                String line;
                while ((line = lines.readLine()) != null) {
                    if (!line.startsWith("data:")) {
                        continue;
                    }
                    long now = System.nanoTime();
                    String data = line.substring(5).strip();
                    if (data.equals("[DONE]")) {
                        done = true;
                        break;
                    }
                    JsonNode event = JSON.readTree(data);
                    if (event.has("error")) {
                        throw new IllegalStateException("error event from the function: " + data);
                    }
                    if (!event.path("choices").path(0).path("text").asText("").isEmpty()) {
                        if (first != 0) {
                            gaps.add((now - last) / 1e6);
                        }
                        first = first == 0 ? now : first;
                        last = now;
                    }
                    if (event.path("usage").has("completion_tokens")) {
                        tokens = event.path("usage").path("completion_tokens").asInt();
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("request to " + completions + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        long end = System.nanoTime();
        if (!done || tokens < 0) {
            throw new IllegalStateException("the function's stream ended without " + (done ? "usage" : "data: [DONE]"));
        }
        return new Sample("function", tokens, first == 0 ? Double.NaN : (first - start) / 1e6,
                first == 0 ? 0 : (last - first) / 1e6, (end - start) / 1e6, gaps.stream().mapToDouble(Double::doubleValue).toArray());
    }

    private String firstModel(URI models) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(models).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode ids = JSON.readTree(response.body()).path("data");
        if (response.statusCode() != 200 || ids.isEmpty()) {
            throw new IllegalStateException("GET " + models + " listed no model (HTTP " + response.statusCode() + ")");
        }
        return ids.path(0).path("id").asText();
    }
}
