package io.knllama.inference;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.inference.InferenceMetrics.Outcome;
import io.knllama.model.ModelProperties;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.event.ApplicationEventPublisher;
import io.micronaut.json.JsonMapper;
import io.micronaut.runtime.graceful.GracefulShutdownCapable;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletionStage;

/**
 * The {@link Engine} on llama.cpp, in-process: {@link ModelHost} owns the native model, {@link Admission} decides
 * what gets a slot, {@link GenerationRun} runs a generation's token loop, {@link NativeRequests} maps requests to
 * the binding's calls.
 *
 * <p>Threading: every JNI call runs on the engine's own threads, never on the caller's (so never on Netty's event
 * loop): template rendering and tokenization on a small prepare pool, generations and embeddings on one thread per
 * slot.
 *
 * <p>Shutdown: a graceful shutdown stops admitting (queued requests and new ones get 503 {@code shutting_down}) and
 * waits for what runs; closing then cancels anything left and frees the model.
 */
@Context
public final class LlamaEngine implements Engine, GracefulShutdownCapable {

    private static final Logger LOG = LoggerFactory.getLogger(LlamaEngine.class);

    private final ModelHost host;
    private final Admission admission;
    private final NativeRequests requests;
    private final PromptCache promptCache;
    private final InferenceMetrics metrics;
    private final ModelProperties modelProperties;
    private final EngineProperties engineProperties;
    private volatile boolean draining;

    LlamaEngine(ModelProperties modelProperties, EngineProperties engineProperties, InferenceMetrics metrics, JsonMapper json,
                ApplicationEventPublisher<ModelLoaded> loadedEvents) {
        this.modelProperties = modelProperties;
        this.engineProperties = engineProperties;
        this.metrics = metrics;
        this.host = EarlyLoad.hostFor(modelProperties, engineProperties);
        host.superviseFailure();
        this.admission = new Admission(host, engineProperties, metrics);
        this.requests = new NativeRequests(json, modelProperties.contextSize(), modelProperties.promptCache());
        this.promptCache = new PromptCache(engineProperties.effectiveSlots(), modelProperties.promptCache());
        metrics.registry().gauge("knllama.model.load.seconds", host, h -> h.loadTime().toNanos() / 1e9);
        host.whenLoaded().thenRun(() -> {
            try {
                loadedEvents.publishEvent(new ModelLoaded());
            } catch (RuntimeException e) {
                // A listener's failure must not look like the model's: the model is loaded and serves.
                LOG.warn("A listener of the model's loading failed: {}", e.toString());
            }
        });
    }

    @Override
    public Mono<GenerationStream> generate(GenerationRequest request) {
        return Mono.create(sink -> {
            long arrival = System.nanoTime();
            Admission.Ticket ticket = admission.start(
                    llama -> requests.prepare(llama, request),
                    (prepared, queuedNanos, admitted) -> new GenerationRun(host.require(), requests, promptCache, metrics, request,
                            sink, arrival, engineProperties.requestTimeout()).run(prepared, queuedNanos, admitted),
                    sink::error);
            sink.onCancel(ticket::cancel);
        });
    }

    @Override
    public Mono<Embeddings> embed(List<String> inputs) {
        return Mono.create(sink -> {
            if (!modelProperties.embeddings()) {
                sink.error(new ApiException(new ApiError.Unsupported("model",
                        "Embeddings are not enabled for this model; start the function with KNLLAMA_MODEL_EMBEDDINGS=true.")));
                return;
            }
            long deadline = System.nanoTime() + engineProperties.requestTimeout().toNanos();
            Admission.Ticket ticket = admission.start(
                    llama -> requests.embeddingTokens(llama, inputs, engineProperties.batchSize()),
                    (tokens, queuedNanos, admitted) -> embedAll(inputs, tokens, deadline, sink),
                    sink::error);
            sink.onCancel(ticket::cancel);
        });
    }

    /**
     * Embeds one input after another in the slot, checking the time limit between them. llama.cpp picks the slot for
     * an embedding itself, so what the free slots hold is unknown while and after it runs.
     */
    private void embedAll(List<String> inputs, int tokens, long deadline, reactor.core.publisher.MonoSink<Embeddings> sink) {
        promptCache.forgetFree();
        try {
            ModelHost.Loaded llama = host.require();
            List<float[]> vectors = new ArrayList<>(inputs.size());
            for (String input : inputs) {
                if (System.nanoTime() - deadline > 0) {
                    metrics.outcome(Outcome.ERROR);
                    sink.error(new ApiException(new ApiError.TimedOut("Embedding took longer than the request time limit of %d s."
                            .formatted(engineProperties.requestTimeout().toSeconds()))));
                    return;
                }
                vectors.add(llama.model().embed(NativeText.wellFormed(input)));
            }
            metrics.embedded(tokens);
            sink.success(new Embeddings(vectors, tokens));
        } catch (RuntimeException e) {
            LOG.error("Embedding failed: {}", e.toString());
            metrics.outcome(Outcome.ERROR);
            sink.error(new ApiException(new ApiError.EngineFailure("The engine failed to embed the input.")));
        } finally {
            promptCache.forgetFree();
        }
    }

    @Override
    public Optional<ApiException> refusalNow() {
        return admission.refusalNow();
    }

    @Override
    public boolean ready() {
        return !draining && host.loaded().isPresent();
    }

    @Override
    public Optional<String> loadFailure() {
        return host.failure();
    }

    @Override
    public int slots() {
        return admission.slots();
    }

    @Override
    public ModelInfo info() {
        return host.info();
    }

    /** The model's owner: the load begun before the context, or one the engine began. */
    ModelHost host() {
        return host;
    }

    @Override
    public CompletionStage<?> shutdownGracefully() {
        if (draining) {
            return admission.drain();
        }
        draining = true;
        long start = System.nanoTime();
        LOG.info("Shutting down: no new requests; waiting for {} running generation(s)", admission.busy());
        return admission.drain().thenRun(() ->
                LOG.info("All generations finished after {} ms", (System.nanoTime() - start) / 1_000_000));
    }

    /**
     * Ends every running generation with the {@code shutting_down} error its client receives as the stream's last
     * event, for a shutdown whose grace period ran out.
     */
    public void cutRunning(Duration gracePeriod) {
        int cut = admission.cutRunning();
        if (cut > 0) {
            LOG.warn("The grace period of {} s ran out: ending {} generation(s) with a shutting_down error",
                    gracePeriod.toSeconds(), cut);
        }
    }

    @Override
    public OptionalLong reportActiveTasks() {
        return OptionalLong.of(admission.busy());
    }

    @PreDestroy
    void close() throws InterruptedException {
        draining = true;
        admission.close();
        host.close();
    }
}
