import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine with no HTTP in between: loads a GGUF model through de.kherud:llama exactly as knllama's
 * LlamaEngine does and times single-stream generations of one prompt. Given the function's URL, it also
 * sends the same request to the function through the bench client's code, taking turns request by request
 * (which side goes first alternates), so both sides meet the same machine conditions, and prints both and
 * the ratio (scripts/bench-engine-overhead.sh starts the function and runs this).
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp function/target/function.jar scripts/bench/EngineHarness.java \
 *   --model MODEL.gguf [--threads 2] [--slots 2] [--ctx-per-slot 4096] [--batch 512] [--prompt TEXT]
 *   [--max-tokens 128] [--temperature 0] [--requests 10] [--warmup 2] [--out FILE.json]
 *   [--function-url http://127.0.0.1:8080 [--function-model ID]]
 * </pre>
 *
 * <p>Like with like: the same ModelParameters as {@code LlamaEngine.parameters()} (threads, batch threads,
 * parallel slots, context = slots x per-slot context, batch and micro-batch 512, llama.cpp's log off) and the
 * same per-request InferenceParameters (prompt cache off, n_predict, temperature, the transcript's stop
 * string). The prompt is the transcript the function renders for a model without a chat template
 * ("User: ...\nAssistant:"); a model with a template gets llama.cpp's own rendering, as in the function.
 * The function must run with the same threads and slots (the script sees to it).
 *
 * <p>Tokens: here, one per intermediate output of the binding's iterator (the closing output carries no
 * text); on the function's side, {@code usage.completion_tokens}, which the function counts the same way.
 * An output is one token except where llama.cpp holds text back until it is valid UTF-8, which merges
 * tokens, so both sides undercount alike. TTFT here is from {@code generate()} to the first output with
 * text, the point where the function would send its first content chunk; on the function's side, from
 * sending the HTTP request to that chunk's arrival.
 */
public final class EngineHarness {

    public static void main(String[] args) throws Exception {
        System.setProperty("java.awt.headless", "true");
        System.setProperty("jdk.httpclient.keepalive.timeout", "2"); // as in Bench: never reuse a connection the server closed
        Map<String, String> o = parse(args);
        Path model = Path.of(require(o, "model"));
        if (!Files.isRegularFile(model)) {
            fail("--model " + model + " is not a file");
        }
        int threads = integer(o, "threads", 2);
        int slots = integer(o, "slots", 2);
        int ctxPerSlot = integer(o, "ctx-per-slot", 4096);
        int batch = integer(o, "batch", 512);
        int maxTokens = integer(o, "max-tokens", 128);
        int requests = integer(o, "requests", 10);
        int warmup = integer(o, "warmup", 2);
        float temperature = Float.parseFloat(o.getOrDefault("temperature", "0"));
        String user = o.getOrDefault("prompt", Options.DEFAULT_PROMPTS.getFirst());
        Path out = o.containsKey("out") ? Path.of(o.get("out")) : null;

        ModelParameters parameters = new ModelParameters()
                .setModel(model.toString())
                .setThreads(threads)
                .setThreadsBatch(threads)
                .setParallel(slots)
                .setCtxSize(slots * ctxPerSlot)
                .setBatchSize(batch)
                .setUbatchSize(Math.min(512, batch))
                .disableLog();
        long loadStart = System.nanoTime();
        LlamaModel llama = new LlamaModel(parameters);
        double loadMs = (System.nanoTime() - loadStart) / 1e6;

        boolean hasTemplate = hasChatTemplate(model);
        String prompt = hasTemplate
                ? llama.applyTemplate("{\"messages\":[{\"role\":\"user\",\"content\":" + Json.compact(user) + "}]}")
                : "User: " + user.strip() + "\nAssistant:";
        String[] stop = hasTemplate ? new String[0] : new String[] {"\nUser:"};
        System.err.printf("%tT [engine] loaded %s in %.0f ms: %d threads, %d slots x %d, batch %d; prompt %s%n",
                System.currentTimeMillis(), model.getFileName(), loadMs, threads, slots, ctxPerSlot, batch,
                Json.compact(prompt));

        String functionUrl = o.get("function-url");
        StreamClient client = null;
        StreamClient.Target function = null;
        String functionBody = null;
        if (functionUrl != null) {
            // The function is driven by the bench client's own code, with the same user message and settings.
            client = new StreamClient(StreamClient.Api.CHAT, maxTokens, temperature, java.time.Duration.ofSeconds(300));
            Map<String, java.net.URI> urls = Options.parse(new String[] {"--target", "function=" + functionUrl}).targets();
            var probe = new StreamClient.Target("function", urls.get("function"), "", Map.of());
            List<String> ids = client.models(probe);
            String id = o.getOrDefault("function-model", ids.isEmpty() ? null : ids.getFirst());
            if (id == null || (!ids.isEmpty() && !ids.contains(id))) {
                fail("the function at " + functionUrl + " serves " + ids + ", not '" + id + "'");
            }
            function = new StreamClient.Target("function", urls.get("function"), id, Map.of());
            functionBody = client.body(function, user);
        }

        List<Run> runs = new ArrayList<>();
        List<StreamClient.Sample> samples = new ArrayList<>();
        for (int i = -warmup; i < requests; i++) {
            // Alternate which side goes first, so neither always follows the other's work.
            boolean engineFirst = (i & 1) == 0;
            StreamClient.Sample sample = null;
            if (client != null && !engineFirst) {
                sample = client.send(function, functionBody);
            }
            Run run = generate(llama, prompt, stop, maxTokens, temperature);
            if (client != null && engineFirst) {
                sample = client.send(function, functionBody);
            }
            if (sample != null && sample.outcome() != StreamClient.Outcome.OK) {
                fail("a request to the function failed: " + (sample.error() != null ? sample.error() : sample.outcome()));
            }
            if (i >= 0) {
                runs.add(run);
                if (sample != null) {
                    samples.add(sample);
                }
            }
        }

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("tool", "knllama-engine-harness");
        result.put("started", Instant.now().toString());
        result.put("machine", Machine.describe());
        result.put("binding", "de.kherud:llama (llama.cpp b4916), from " + jarOf(LlamaModel.class));
        result.put("model", model.toString());
        result.put("threads", (long) threads);
        result.put("slots", (long) slots);
        result.put("ctx_size", (long) slots * ctxPerSlot);
        result.put("batch", (long) batch);
        result.put("prompt", prompt);
        result.put("max_tokens", (long) maxTokens);
        result.put("temperature", (double) temperature);
        result.put("load_ms", loadMs);
        result.put("requests", (long) requests);
        result.put("warmup", (long) warmup);
        Map<String, Object> engine = summarize(runs);
        result.put("engine", engine);
        System.out.printf("engine (no HTTP): %d requests, %.1f tokens/request; TTFT p50 %.1f ms; per-stream %.1f tokens/s (p50)%n",
                requests, Stats.get(engine, "tokens_per_request", null), Stats.get(engine, "ttft_ms", "p50"),
                Stats.get(engine, "stream_tokens_per_s", "p50"));
        if (client != null) {
            // Wall time = the sum of its own requests, as for the engine: the two sides took turns.
            Map<String, Object> functionSummary = Stats.summarize(samples, samples.stream().mapToDouble(StreamClient.Sample::e2eMs).sum() / 1e3);
            functionSummary.put("url", functionUrl);
            functionSummary.put("model", function.model());
            result.put("function", functionSummary);
            Map<String, Object> comparison = EngineOverhead.compare(engine, functionSummary);
            result.put("comparison", comparison);
            Map<String, Object> verdict = EngineOverhead.verdict(List.of(comparison));
            result.put("verdict", verdict);
            System.out.printf("%nSingle stream, %d requests per side, taking turns; function via %s%n", requests, functionUrl);
            System.out.print(EngineOverhead.table(comparison));
            System.out.print(EngineOverhead.verdictLine(verdict, 1));
        }
        if (out != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, Json.write(result) + "\n");
            System.out.println("JSON: " + out);
        }
        // LlamaModel.close() leaves a non-daemon native thread behind (see the field notes): exit explicitly.
        llama.close();
        System.exit(0);
    }

    private static Map<String, Object> summarize(List<Run> runs) {
        long tokens = runs.stream().mapToLong(Run::outputs).sum();
        double wall = runs.stream().mapToDouble(Run::e2eMs).sum() / 1e3;
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("ok", (long) runs.size());
        s.put("wall_s", wall);
        s.put("output_tokens", tokens);
        s.put("tokens_from", "outputs");
        s.put("output_tokens_per_s", tokens / wall);
        s.put("tokens_per_request", runs.isEmpty() ? Double.NaN : (double) tokens / runs.size());
        s.put("ttft_ms", Stats.distribution(runs.stream().mapToDouble(Run::ttftMs).toArray()));
        s.put("itl_ms", Stats.distribution(runs.stream().flatMapToDouble(r -> java.util.Arrays.stream(r.gapsMs())).toArray()));
        s.put("tpot_ms", Stats.distribution(runs.stream().mapToDouble(Run::tpotMs).toArray()));
        s.put("stream_tokens_per_s", Stats.distribution(runs.stream().mapToDouble(r -> 1000 / r.tpotMs()).toArray()));
        s.put("e2e_ms", Stats.distribution(runs.stream().mapToDouble(Run::e2eMs).toArray()));
        s.put("text", runs.isEmpty() ? "" : runs.getFirst().text());
        return s;
    }

    /** One generation as the harness saw it. */
    private record Run(int outputs, double ttftMs, double e2eMs, double decodeMs, double[] gapsMs, String text) {
        double tpotMs() {
            return outputs > 1 && decodeMs > 0 ? decodeMs / (outputs - 1) : Double.NaN;
        }
    }

    private static Run generate(LlamaModel llama, String prompt, String[] stop, int maxTokens, float temperature) {
        // Fresh per request, as in the function: the binding's parameter objects are mutable.
        InferenceParameters parameters = new InferenceParameters(prompt)
                .setNPredict(maxTokens)
                .setCachePrompt(false)
                .setTemperature(temperature);
        if (stop.length > 0) {
            parameters.setStopStrings(stop);
        }
        StringBuilder text = new StringBuilder();
        double[] gaps = new double[maxTokens + 1];
        int outputs = 0;
        int chunks = 0;
        long first = 0;
        long last = 0;
        long start = System.nanoTime();
        LlamaIterator iterator = llama.generate(parameters).iterator();
        while (iterator.hasNext()) {
            LlamaOutput output = iterator.next();
            if (!iterator.hasNext()) {
                break; // the closing result carries no text, and the function does not count it either
            }
            outputs++;
            if (!output.text.isEmpty()) {
                long now = System.nanoTime();
                if (first == 0) {
                    first = now;
                } else if (chunks - 1 < gaps.length) {
                    gaps[chunks - 1] = (now - last) / 1e6;
                }
                last = now;
                chunks++;
                text.append(output.text);
            }
        }
        long end = System.nanoTime();
        return new Run(outputs, first == 0 ? Double.NaN : (first - start) / 1e6, (end - start) / 1e6,
                chunks > 1 ? (last - first) / 1e6 : 0, java.util.Arrays.copyOf(gaps, Math.max(0, Math.min(gaps.length, chunks - 1))),
                text.toString());
    }

    /** Whether the GGUF carries a chat template, read with the function's own model inspection. */
    private static boolean hasChatTemplate(Path model) {
        try {
            return io.knllama.model.ModelFile.inspect(model).chatTemplate().isPresent();
        } catch (io.knllama.model.ModelFile.ModelFileException e) {
            fail(e.getMessage());
            return false;
        }
    }

    private static String jarOf(Class<?> type) {
        var source = type.getProtectionDomain().getCodeSource();
        return source == null ? "?" : Path.of(source.getLocation().getPath()).getFileName().toString();
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println("usage: java --enable-native-access=ALL-UNNAMED -cp function/target/function.jar "
                        + "scripts/bench/EngineHarness.java --model FILE [--threads N] [--slots N] [--ctx-per-slot N] [--batch N] "
                        + "[--prompt TEXT] [--max-tokens N] [--temperature T] [--requests N] [--warmup N] [--out FILE.json] "
                        + "[--function-url URL [--function-model ID]]");
                System.exit(0);
            }
            if (!a.startsWith("--") || i + 1 >= args.length) {
                fail("bad argument '" + a + "' (every option takes a value; --help lists them)");
            }
            String key = a.substring(2);
            if (!List.of("model", "threads", "slots", "ctx-per-slot", "batch", "prompt", "max-tokens", "temperature",
                    "requests", "warmup", "out", "function-url", "function-model").contains(key)) {
                fail("unknown option " + a);
            }
            o.put(key, args[++i]);
        }
        return o;
    }

    private static String require(Map<String, String> o, String key) {
        String v = o.get(key);
        if (v == null) {
            fail("--" + key + " is required");
        }
        return v;
    }

    private static int integer(Map<String, String> o, String key, int fallback) {
        String v = o.get(key);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < (key.equals("warmup") ? 0 : 1)) {
                fail("--" + key + " must be positive, not " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            fail("--" + key + " must be a whole number, not '" + v + "'");
            return fallback;
        }
    }

    private static void fail(String message) {
        System.err.println("engine harness: " + message);
        System.exit(2);
    }
}
