package io.knllama.ollama;

import io.knllama.error.ApiException;
import io.knllama.inference.Completion;
import io.knllama.inference.GenerationEvent;
import io.knllama.inference.GenerationEvent.FinishReason;
import io.knllama.inference.GenerationEvent.Timings;
import io.knllama.inference.GenerationEvent.Usage;
import io.knllama.inference.GenerationStream;
import io.knllama.inference.Embeddings;
import io.knllama.inference.ModelInfo;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Pure translation of engine results into Ollama's response objects.
 *
 * <p>A stream is one object per piece of text ({@code done: false}), then one object with {@code done: true},
 * {@code done_reason} and the timings, in nanoseconds: {@code prompt_eval_duration} from the slot grant to the
 * first token, {@code eval_duration} from the first token to the last, {@code total_duration} from the
 * request's arrival (queueing included). If the engine fails after the stream has begun, the last object is
 * {@code {"error": "..."}} instead, as Ollama sends it.
 */
public final class OllamaResponses {

    /** The Ollama release whose API the routes here follow (the {@code think} field dates from 0.9). */
    static final String API_VERSION = "0.9.0";
    /**
     * What {@code /api/ps} gives as {@code expires_at}: the function never unloads its model on its own (Knative
     * scales the pod away instead), which is what Ollama reports, with a date this far out, for {@code keep_alive: -1}.
     */
    static final String NEVER = "2318-01-01T00:00:00Z";
    private static final String ASSISTANT = "assistant";
    private static final Pattern QUANTIZATION = Pattern.compile("(?i)(?:^|[-_.])((?:i?q\\d(?:_[a-z0-9]+)*)|bf16|f16|f32)(?=\\.gguf$|$)");

    private OllamaResponses() {
    }

    /** Ollama's reason when a request had nothing to generate: the model was (already) loaded, or "unloaded". */
    static String idleReason(boolean unload) {
        return unload ? "unload" : "load";
    }

    static ChatResponse chatIdle(String model, Instant now, boolean unload) {
        return new ChatResponse(model, timestamp(now), new ChatResponse.Message(ASSISTANT, ""), true, idleReason(unload),
                null, null, null, null, null, null);
    }

    static GenerateResponse generateIdle(String model, Instant now, boolean unload) {
        return new GenerateResponse(model, timestamp(now), "", true, idleReason(unload), null, null, null, null, null, null);
    }

    static ChatResponse chat(String model, Instant now, Completion completion, long loadNanos) {
        return chatDone(model, now, completion.text(), completion.finishReason(), completion.usage(), completion.timings(),
                loadNanos);
    }

    static GenerateResponse generate(String model, Instant now, Completion completion, long loadNanos) {
        return generateDone(model, now, completion.text(), completion.finishReason(), completion.usage(),
                completion.timings(), loadNanos);
    }

    /** The NDJSON objects of a streamed chat: {@link ChatResponse}s, or an {@link ErrorResponse} last. */
    static Flux<Object> chatStream(String model, GenerationStream stream, Clock clock, long loadNanos) {
        return terminated(stream.events().map(event -> switch (event) {
            case GenerationEvent.Token token -> new ChatResponse(model, timestamp(clock.instant()),
                    new ChatResponse.Message(ASSISTANT, token.text()), false, null, null, null, null, null, null, null);
            case GenerationEvent.Finished done -> chatDone(model, clock.instant(), "", done.reason(), done.usage(),
                    done.timings(), loadNanos);
        }));
    }

    /** The NDJSON objects of a streamed generate: {@link GenerateResponse}s, or an {@link ErrorResponse} last. */
    static Flux<Object> generateStream(String model, GenerationStream stream, Clock clock, long loadNanos) {
        return terminated(stream.events().map(event -> switch (event) {
            case GenerationEvent.Token token -> new GenerateResponse(model, timestamp(clock.instant()), token.text(), false,
                    null, null, null, null, null, null, null);
            case GenerationEvent.Finished done -> generateDone(model, clock.instant(), "", done.reason(), done.usage(),
                    done.timings(), loadNanos);
        }));
    }

    private static Flux<Object> terminated(Flux<Object> objects) {
        return objects.onErrorResume(ApiException.class, e -> Mono.just(new ErrorResponse(e.error().message())));
    }

    private static ChatResponse chatDone(String model, Instant now, String text, FinishReason reason, Usage usage,
                                         Timings timings, long loadNanos) {
        return new ChatResponse(model, timestamp(now), new ChatResponse.Message(ASSISTANT, text), true, reason.wireName(),
                timings.total().toNanos(), loadNanos, usage.promptTokens(), timings.promptEval().toNanos(),
                usage.completionTokens(), timings.generation().toNanos());
    }

    private static GenerateResponse generateDone(String model, Instant now, String text, FinishReason reason, Usage usage,
                                                 Timings timings, long loadNanos) {
        return new GenerateResponse(model, timestamp(now), text, true, reason.wireName(), timings.total().toNanos(),
                loadNanos, usage.promptTokens(), timings.promptEval().toNanos(), usage.completionTokens(),
                timings.generation().toNanos());
    }

    /** Ollama's vectors from {@code /api/embed} have unit length; so do these. */
    static EmbedResponse embed(String model, Embeddings embeddings, long totalNanos, long loadNanos) {
        List<float[]> vectors = new ArrayList<>(embeddings.vectors().size());
        for (float[] vector : embeddings.vectors()) {
            vectors.add(normalized(vector));
        }
        return new EmbedResponse(model, vectors, totalNanos, loadNanos, embeddings.promptTokens());
    }

    static float[] normalized(float[] vector) {
        double sum = 0;
        for (float v : vector) {
            sum += (double) v * v;
        }
        if (sum == 0) {
            return vector.clone();
        }
        double norm = Math.sqrt(sum);
        float[] unit = new float[vector.length];
        for (int i = 0; i < vector.length; i++) {
            unit[i] = (float) (vector[i] / norm);
        }
        return unit;
    }

    static ModelListing.Tags tags(ModelInfo info) {
        String name = OllamaRequests.listedName(info.id());
        return new ModelListing.Tags(List.of(new ModelListing.Tag(name, name, timestamp(info.created()), info.sizeBytes(),
                digest(info), details(info))));
    }

    static ModelListing.Running running(ModelInfo info) {
        String name = OllamaRequests.listedName(info.id());
        return new ModelListing.Running(List.of(new ModelListing.RunningModel(name, name, info.sizeBytes(), digest(info),
                details(info), NEVER, 0, info.contextPerSlot())));
    }

    static ModelListing.Show show(ModelInfo info) {
        Map<String, Object> modelInfo = new LinkedHashMap<>();
        modelInfo.put("general.architecture", info.architecture());
        modelInfo.put("general.name", info.name());
        modelInfo.put(info.architecture() + ".context_length", info.contextPerSlot());
        List<String> capabilities = info.embeddings() ? List.of("completion", "embedding") : List.of("completion");
        String modelfile = "# Served by knllama: the model file is fixed at deployment; sampling comes from each request.\n"
                + "FROM " + info.fileName() + "\n";
        return new ModelListing.Show(modelfile, "num_ctx " + info.contextPerSlot(), info.chatFormat(), details(info),
                modelInfo, capabilities, timestamp(info.created()));
    }

    static ModelListing.Version version() {
        return new ModelListing.Version(API_VERSION);
    }

    /**
     * Ollama's model details. The quantization is read from the file name (as in {@code model-q4_k_m.gguf}), the
     * convention GGUF files are published under; it is empty when the name does not say. The parameter count is
     * not known without reading every tensor's shape, so it is left empty.
     */
    static ModelListing.Details details(ModelInfo info) {
        Matcher quantization = QUANTIZATION.matcher(info.fileName());
        String level = quantization.find() ? quantization.group(1).toUpperCase(Locale.ROOT) : "";
        return new ModelListing.Details("", "gguf", info.architecture(), List.of(info.architecture()), "", level);
    }

    /**
     * Ollama's digest is its manifest's hash; here it identifies the served file by name and size (hashing the
     * whole file at start-up would cost seconds of cold start). Stable for one model file, different for another.
     */
    static String digest(ModelInfo info) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256")
                    .digest((info.fileName() + "\n" + info.sizeBytes()).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    static String timestamp(Instant instant) {
        return DateTimeFormatter.ISO_INSTANT.format(instant);
    }
}
