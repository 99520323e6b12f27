package io.knllama.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * What the function costs on top of the engine: the same model, parameters and prompt through the bare binding
 * and through the function over HTTP, taking turns request by request (which side goes first alternates), so
 * both meet the same machine conditions. Writes every request's timings as JSON; the comparison and the verdict
 * are scripts/lib/bench_report.py's job ({@code bench_report.py overhead RESULT.json}).
 */
@Command(name = "engine-overhead", mixinStandardHelpOptions = true,
        subcommands = {EngineOverhead.Compare.class, EngineOverhead.SystemInfo.class},
        description = "The function against the bare binding, same model and settings (compare), and the binding's build (system-info).")
public final class EngineOverhead {

    /** The model parameters both sides share: the function's (LlamaEngine.parameters()) for the same settings. */
    static final class Engine {
        @Option(names = "--model", required = true, description = "GGUF model file")
        Path model;
        @Option(names = "--threads", defaultValue = "2", description = "llama.cpp threads (default ${DEFAULT-VALUE})")
        int threads;
        @Option(names = "--slots", defaultValue = "2", description = "parallel slots (default ${DEFAULT-VALUE})")
        int slots;
        @Option(names = "--ctx-per-slot", defaultValue = "4096", description = "context per slot (default ${DEFAULT-VALUE})")
        int ctxPerSlot;
        @Option(names = "--batch", defaultValue = "512", description = "batch size (default ${DEFAULT-VALUE})")
        int batch;

        ModelParameters parameters() {
            if (!Files.isRegularFile(model)) {
                throw new CommandLine.ParameterException(new CommandLine(this), "--model " + model + " is not a file");
            }
            return new ModelParameters()
                    .setModel(model.toString())
                    .setThreads(threads)
                    .setThreadsBatch(threads)
                    .setParallel(slots)
                    .setCtxSize(slots * ctxPerSlot)
                    .setBatchSize(batch)
                    .setUbatchSize(Math.min(512, batch));
        }
    }

    public static void main(String[] args) {
        // LlamaModel.close() leaves a non-daemon native thread behind (field notes): exit explicitly.
        System.exit(new CommandLine(new EngineOverhead()).execute(args));
    }

    @Command(name = "compare", mixinStandardHelpOptions = true,
            description = "Alternates single-stream generations through the bare binding and through the function.")
    static final class Compare implements Callable<Integer> {
        @Mixin
        Engine engine;
        @Option(names = "--prompt", defaultValue = "User: Write a short story about a llama who learns to fly.\nAssistant:",
                description = "the prompt text, sent as is to both sides (the function's /v1/completions)")
        String prompt;
        @Option(names = "--stop", defaultValue = "\nUser:", description = "stop string on both sides (default: the transcript's)")
        List<String> stop;
        @Option(names = "--max-tokens", defaultValue = "128")
        int maxTokens;
        @Option(names = "--requests", defaultValue = "30", description = "measured requests per side (default ${DEFAULT-VALUE})")
        int requests;
        @Option(names = "--warmup", defaultValue = "3", description = "unmeasured requests per side first (default ${DEFAULT-VALUE})")
        int warmup;
        @Option(names = "--cache-prompt", defaultValue = "false",
                description = "reuse the KV cache of a seen prompt on the binding's side: match the function's KNLLAMA_MODEL_PROMPT_CACHE")
        boolean cachePrompt;
        @Option(names = "--function-url", required = true, description = "the function's base URL")
        URI functionUrl;
        @Option(names = "--function-model", description = "model id (default: the first of GET /v1/models)")
        String functionModel;
        @Option(names = "--out", required = true, description = "JSON file for the results")
        Path out;

        @Override
        public Integer call() throws Exception {
            FunctionClient function = new FunctionClient(functionUrl, functionModel, prompt, stop, maxTokens);
            long loadStart = System.nanoTime();
            LlamaModel llama = new LlamaModel(engine.parameters().disableLog());
            double loadMs = (System.nanoTime() - loadStart) / 1e6;
            log("loaded %s in %.0f ms: %d threads, %d slots x %d, batch %d; function at %s, model '%s'", engine.model.getFileName(),
                    loadMs, engine.threads, engine.slots, engine.ctxPerSlot, engine.batch, functionUrl, function.model());
            Binding binding = new Binding(llama, prompt, stop, maxTokens, cachePrompt);
            List<Sample> samples = new ArrayList<>();
            for (int i = -warmup; i < requests; i++) {
                boolean bindingFirst = (i & 1) == 0; // neither side always follows the other's work
                Sample first = bindingFirst ? binding.generate() : function.send();
                Sample second = bindingFirst ? function.send() : binding.generate();
                if (i >= 0) {
                    samples.add(first);
                    samples.add(second);
                }
            }
            llama.close();

            Map<String, Object> result = new LinkedHashMap<>();
            result.put("tool", "knllama-engine-overhead");
            result.put("finished", Instant.now().toString());
            result.put("binding", "de.kherud:llama, " + jarOf(LlamaModel.class));
            result.put("model", engine.model.toString());
            result.put("threads", engine.threads);
            result.put("slots", engine.slots);
            result.put("ctx_size", engine.slots * engine.ctxPerSlot);
            result.put("batch", engine.batch);
            result.put("prompt", prompt);
            result.put("stop", stop);
            result.put("max_tokens", maxTokens);
            result.put("cache_prompt", cachePrompt);
            result.put("requests", requests);
            result.put("warmup", warmup);
            result.put("load_ms", loadMs);
            result.put("function_url", functionUrl.toString());
            result.put("function_model", function.model());
            result.put("samples", samples);
            if (out.toAbsolutePath().getParent() != null) {
                Files.createDirectories(out.toAbsolutePath().getParent());
            }
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(out.toFile(), result);
            log("%d requests per side written to %s", requests, out);
            return 0;
        }
    }

    /**
     * The binding's llama.cpp build and the instruction sets its CPU backend was compiled for: loading the model with
     * llama.cpp's log on makes it print its {@code build:} and {@code system_info:} lines (on stderr, from native code).
     */
    @Command(name = "system-info", mixinStandardHelpOptions = true,
            description = "Loads the model through the binding with llama.cpp's log on, which prints its build and system_info lines.")
    static final class SystemInfo implements Callable<Integer> {
        @Mixin
        Engine engine;

        @Override
        public Integer call() {
            new LlamaModel(engine.parameters()).close();
            System.out.println("binding: de.kherud:llama, " + jarOf(LlamaModel.class));
            return 0;
        }
    }

    private static String jarOf(Class<?> type) {
        var source = type.getProtectionDomain().getCodeSource();
        return source == null ? "?" : Path.of(source.getLocation().getPath()).getFileName().toString();
    }

    static void log(String format, Object... args) {
        System.err.printf("%tT [engine-overhead] %s%n", System.currentTimeMillis(), format.formatted(args));
    }
}
