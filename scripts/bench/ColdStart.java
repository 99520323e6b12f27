import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Cold start of the function, the number that decides scale-to-zero: from the moment the process is
 * launched to readiness, and to the first streamed token of a request sent the moment it is ready
 * (what Knative's activator does with the request that woke the pod).
 *
 * <p>Usage: {@code java ColdStart.java RUNS JAVA MODEL JAR name='jvm options' [name='jvm options' ...]}.
 * The function runs from the jar's directory as {@code -jar <name>}, as the image runs it from /app
 * (an AOT cache only applies to the class path it was trained with).
 * Variants run interleaved (A B C A B C ...) so that drift in machine load affects them alike. Prints a
 * table of medians and the JSON of every run.
 */
public class ColdStart {

    record Run(String variant, long readyMillis, long firstTokenMillis) {
    }

    public static void main(String[] args) throws Exception {
        int runs = Integer.parseInt(args[0]);
        String java = args[1];
        String model = args[2];
        String jar = args[3];
        Map<String, List<String>> variants = new LinkedHashMap<>();
        for (String spec : Arrays.copyOfRange(args, 4, args.length)) {
            int eq = spec.indexOf('=');
            String options = spec.substring(eq + 1).trim();
            variants.put(spec.substring(0, eq), options.isEmpty() ? List.of() : List.of(options.split("\\s+")));
        }
        List<Run> all = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            for (Map.Entry<String, List<String>> variant : variants.entrySet()) {
                Run run = once(variant.getKey(), java, variant.getValue(), jar, model);
                System.err.printf("run %d %-12s ready %5d ms  first token %5d ms%n", i + 1, run.variant(), run.readyMillis(), run.firstTokenMillis());
                all.add(run);
            }
        }
        System.out.printf("%n%-12s %8s %14s %14s%n", "variant", "runs", "ready (ms)", "1st token (ms)");
        for (String name : variants.keySet()) {
            long[] ready = all.stream().filter(r -> r.variant().equals(name)).mapToLong(Run::readyMillis).sorted().toArray();
            long[] first = all.stream().filter(r -> r.variant().equals(name)).mapToLong(Run::firstTokenMillis).sorted().toArray();
            System.out.printf("%-12s %8d %14d %14d%n", name, ready.length, ready[ready.length / 2], first[first.length / 2]);
        }
        StringBuilder json = new StringBuilder("[");
        for (Run run : all) {
            json.append(json.length() > 1 ? "," : "").append("{\"variant\":\"").append(run.variant())
                    .append("\",\"ready_ms\":").append(run.readyMillis()).append(",\"first_token_ms\":").append(run.firstTokenMillis()).append('}');
        }
        System.out.println(json.append(']'));
    }

    static Run once(String name, String java, List<String> options, String jar, String model) throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(options);
        Path jarPath = Path.of(jar).toAbsolutePath();
        command.addAll(List.of("-jar", jarPath.getFileName().toString()));
        Path log = Files.createTempFile("coldstart-" + name, ".log");
        ProcessBuilder builder = new ProcessBuilder(command).directory(jarPath.getParent().toFile())
                .redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(Map.of("PORT", Integer.toString(port), "KNLLAMA_MODEL_PATH", model,
                "KNLLAMA_ENGINE_SLOTS", "2", "KNLLAMA_ENGINE_THREADS", "2"));
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(200)).build();
        URI ready = URI.create("http://127.0.0.1:" + port + "/health/readiness");
        URI chat = URI.create("http://127.0.0.1:" + port + "/v1/chat/completions");
        long start = System.nanoTime();
        Process process = builder.start();
        try {
            while (true) {
                if (!process.isAlive()) {
                    throw new IllegalStateException(name + " exited early; see " + log);
                }
                try {
                    if (http.send(HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(1)).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                        break;
                    }
                } catch (IOException notListening) {
                    // keep polling
                }
                Thread.sleep(2);
                if (System.nanoTime() - start > TimeUnit.SECONDS.toNanos(120)) {
                    throw new IllegalStateException(name + " not ready in 120 s; see " + log);
                }
            }
            long readyAt = System.nanoTime();
            String body = "{\"model\":\"" + Path.of(model).getFileName().toString().replace(".gguf", "")
                    + "\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France?\"}],"
                    + "\"max_tokens\":16,\"temperature\":0,\"stream\":true}";
            HttpResponse<InputStream> response = http.send(HttpRequest.newBuilder(chat).header("Content-Type", "application/json")
                    .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            long firstAt = 0;
            try (BufferedReader events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = events.readLine()) != null) {
                    if (firstAt == 0 && line.startsWith("data:") && line.contains("\"content\":\"") && !line.contains("\"content\":\"\"")) {
                        firstAt = System.nanoTime();
                    }
                }
            }
            if (firstAt == 0) {
                throw new IllegalStateException(name + ": no token streamed (HTTP " + response.statusCode() + "); see " + log);
            }
            Files.deleteIfExists(log);
            return new Run(name, (readyAt - start) / 1_000_000, (firstAt - start) / 1_000_000);
        } finally {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
