package io.knllama.inference;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import de.kherud.llama.args.PoolingType;
import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.inference.GenerationEvent.Finished;
import io.knllama.inference.GenerationEvent.FinishReason;
import io.knllama.inference.GenerationEvent.Timings;
import io.knllama.inference.GenerationEvent.Token;
import io.knllama.inference.GenerationEvent.Usage;
import io.knllama.inference.GenerationRequest.ChatMessage;
import io.knllama.inference.GenerationRequest.Prompt;
import io.knllama.inference.GenerationRequest.ResponseFormat;
import io.knllama.inference.InferenceMetrics.Outcome;
import io.knllama.model.ModelFile;
import io.knllama.model.ModelProperties;
import io.micronaut.context.annotation.Context;
import io.micronaut.json.JsonMapper;
import io.micronaut.runtime.graceful.GracefulShutdownCapable;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Sinks;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The one owner of the native model for the life of the process.
 *
 * <p>Start-up: the GGUF file is checked synchronously (a bad file stops start-up with a message naming
 * the problem, before llama.cpp could abort on it); the native load then runs in the background while
 * the HTTP server starts, and {@link #ready()} turns true when it is done. If llama.cpp refuses the file
 * (an architecture newer than its build, say), the process exits with status 1: without its model it
 * has nothing to serve, and a restart loop shows the operator the error.
 *
 * <p>Threading: every JNI call runs on the engine's own threads, never on the caller's (so never on
 * Netty's event loop): template rendering and tokenization on a small "prepare" pool, generations on one
 * thread per slot. {@link SlotScheduler} admits at most one generation per slot and sheds the rest.
 *
 * <p>Cancellation: cancelling the stream returned by {@link #generate} (an HTTP client that disconnects)
 * removes a queued request from the queue, or cancels a running generation at its next token, which
 * frees the native slot at once.
 */
@Context
public final class LlamaEngine implements GracefulShutdownCapable {

    private static final Logger LOG = LoggerFactory.getLogger(LlamaEngine.class);
    private static final Logger NATIVE_LOG = LoggerFactory.getLogger("llama.cpp");
    private static final Duration LOADING_RETRY = Duration.ofSeconds(1);

    private enum State { LOADING, READY, DRAINING, CLOSED }

    private final ModelProperties modelProperties;
    private final EngineProperties engineProperties;
    private final boolean promptCache;
    private final int contextPerSlot;
    private final SlotScheduler scheduler;
    private final InferenceMetrics metrics;
    private final JsonMapper json;
    private final ExecutorService prepareExecutor;
    private final ExecutorService slotExecutor;
    private final ScheduledExecutorService timer;
    private final CompletableFuture<Loaded> loaded = new CompletableFuture<>();
    private final Set<Generation> running = ConcurrentHashMap.newKeySet();
    private final Instant created = Instant.now();
    private volatile State state = State.LOADING;
    private volatile Duration loadTime = Duration.ZERO;

    /** The model once checked and loaded, with what was learned from its file. */
    private record Loaded(ModelFile file, ChatFormat chat, LlamaModel model) {
    }

    LlamaEngine(ModelProperties modelProperties, EngineProperties engineProperties, InferenceMetrics metrics, JsonMapper json) {
        this.modelProperties = modelProperties;
        this.engineProperties = engineProperties;
        this.metrics = metrics;
        this.json = json;
        ChatFormat.checkConfigured(modelProperties);
        this.promptCache = modelProperties.promptCache();
        this.contextPerSlot = modelProperties.contextSize();
        int slots = engineProperties.effectiveSlots();
        this.timer = Executors.newSingleThreadScheduledExecutor(daemon("llama-timer"));
        this.prepareExecutor = Executors.newFixedThreadPool(Math.max(2, engineProperties.effectiveThreads()), daemon("llama-prepare"));
        this.slotExecutor = Executors.newFixedThreadPool(slots, daemon("llama-slot"));
        this.scheduler = new SlotScheduler(slots, engineProperties.effectiveQueueCapacity(),
                engineProperties.maxQueueWait(), timer);
        var registry = metrics.registry();
        registry.gauge("knllama.slots", scheduler, SlotScheduler::slots);
        registry.gauge("knllama.slots.busy", scheduler, SlotScheduler::busy);
        registry.gauge("knllama.queue.depth", scheduler, SlotScheduler::waiting);
        registry.gauge("knllama.model.load.seconds", this, e -> e.loadTime.toNanos() / 1e9);
        Thread.ofPlatform().name("llama-load").daemon().start(this::load);
    }

    /**
     * Checks the file, then hands it to llama.cpp, on its own thread while the HTTP server starts. Either
     * step failing leaves nothing to serve: the process exits with status 1 after saying why (unless
     * {@code exit-on-load-failure} is off, when the engine stays unavailable and reports the reason).
     */
    private void load() {
        long start = System.nanoTime();
        NativeLibrary.prepare();
        ModelFile file;
        try {
            file = ModelFile.inspect(modelProperties.file());
        } catch (ModelFile.ModelFileException e) {
            failed("Cannot serve the model: " + e.getMessage(), e);
            return;
        }
        long checked = System.nanoTime();
        ChatFormat chat = ChatFormat.choose(modelProperties, file);
        try {
            LlamaModel llama = new LlamaModel(parameters(file, chat));
            loadTime = Duration.ofNanos(System.nanoTime() - start);
            loaded.complete(new Loaded(file, chat, llama));
            synchronized (this) {
                if (state == State.LOADING) {
                    state = State.READY;
                }
            }
            LOG.info("Model '{}' checked in {} ms, loaded in {} ms ({} ms after process start): {} ({}, {} MB), "
                            + "{} slots x {} tokens, {} threads, chat: {}, prompt cache {}",
                    modelProperties.effectiveId(), (checked - start) / 1_000_000, (System.nanoTime() - checked) / 1_000_000,
                    sinceProcessStart(), file.path(), file.architecture(), file.sizeBytes() >> 20, scheduler.slots(),
                    contextPerSlot, engineProperties.effectiveThreads(), chat.description(), promptCache ? "on" : "off");
        } catch (Throwable failure) {
            failed("llama.cpp could not load %s (%s '%s'): %s".formatted(file.path(), file.architecture(), file.name(),
                    failure.getMessage()), failure);
        }
    }

    private void failed(String reason, Throwable failure) {
        loaded.completeExceptionally(new IllegalStateException(reason, failure));
        if (engineProperties.exitOnLoadFailure()) {
            LOG.error("{}. The process exits: it has nothing to serve.", reason);
            // Not from this thread: System.exit waits for shutdown hooks, which may wait for the context.
            new Thread(() -> System.exit(1), "llama-load-failed").start();
        } else {
            LOG.error("{}. Requests get 500 until the process is restarted.", reason);
        }
    }

    /** Why the model could not be served, once that is known. */
    public Optional<String> loadFailure() {
        if (!loaded.isCompletedExceptionally()) {
            return Optional.empty();
        }
        try {
            loaded.join();
            return Optional.empty();
        } catch (CompletionException e) {
            return Optional.ofNullable(e.getCause()).map(Throwable::getMessage);
        }
    }

    private static long sinceProcessStart() {
        return ProcessHandle.current().info().startInstant()
                .map(start -> Duration.between(start, Instant.now()).toMillis()).orElse(-1L);
    }

    private ModelParameters parameters(ModelFile file, ChatFormat chat) {
        int slots = scheduler.slots();
        int threads = engineProperties.effectiveThreads();
        ModelParameters parameters = new ModelParameters()
                .setModel(file.path().toString())
                .setThreads(threads)
                .setThreadsBatch(threads)
                .setParallel(slots)
                .setCtxSize(slots * contextPerSlot)
                .setBatchSize(engineProperties.batchSize())
                .setUbatchSize(modelProperties.embeddings() ? engineProperties.batchSize() : Math.min(512, engineProperties.batchSize()));
        if (modelProperties.gpuLayers() > 0) {
            parameters.setGpuLayers(modelProperties.gpuLayers());
        }
        if (engineProperties.nativeLog()) {
            LlamaModel.setLogger(LogFormat.TEXT, (level, text) -> NATIVE_LOG.debug("{}: {}", level, text.strip()));
        } else {
            parameters.disableLog();
        }
        if (chat instanceof ChatFormat.Native(String builtIn, String ignored) && builtIn != null) {
            parameters.setChatTemplate(builtIn);
        }
        if (modelProperties.embeddings()) {
            // Generative models declare no pooling: left so, the binding returns the first (BOS) token's vector for
            // every input, and mean pooling aborts llama.cpp b4916 (GGML_ASSERT in mul_mat). The last token's
            // state, which has attended to the whole input, is what decoder-only embedding models use.
            parameters.enableEmbedding().setPoolingType(PoolingType.LAST);
        }
        if (!modelProperties.mmap()) {
            parameters.disableMmap();
        }
        return parameters;
    }

    /** Whether the model is loaded and the engine is taking requests. */
    public boolean ready() {
        return state == State.READY;
    }

    /** Generations that can run at once. */
    public int slots() {
        return scheduler.slots();
    }

    /** Facts about the served model, for listings. */
    public ModelInfo info() {
        Loaded model = loaded.isDone() && !loaded.isCompletedExceptionally() ? loaded.join() : null;
        return new ModelInfo(modelProperties.effectiveId(), created, modelProperties.file().getFileName().toString(),
                model == null ? "" : model.file().architecture(), model == null ? "" : model.file().name(),
                model == null ? 0 : model.file().sizeBytes(), contextPerSlot, scheduler.slots(),
                model == null ? "" : model.chat().description(), modelProperties.embeddings(), loadTime);
    }

    /**
     * Starts a generation: renders and measures the prompt, then waits (bounded) for a slot. The result
     * completes once the generation holds a slot, so an API can still answer with an error status up to
     * then: it fails with an {@link ApiException} if the request is invalid, too long for the context,
     * shed, or the engine is not serving. Cancelling it gives up the place in the queue. Nothing happens
     * until it is subscribed to.
     */
    public Mono<GenerationStream> generate(GenerationRequest request) {
        return Mono.create(admission -> new Generation(request, admission).start());
    }

    /** Embeds each input (last-token pooled), in one slot, in order. Errors are {@link ApiException}s. */
    public Mono<Embeddings> embed(List<String> inputs) {
        return Mono.create(sink -> {
            if (!modelProperties.embeddings()) {
                sink.error(new ApiException(new ApiError.Unsupported("model",
                        "Embeddings are not enabled for this model; start the function with KNLLAMA_MODEL_EMBEDDINGS=true.")));
                return;
            }
            Optional<ApiException> refusal = refusalNow();
            if (refusal.isPresent()) {
                sink.error(refusal.get());
                return;
            }
            var cancelled = new java.util.concurrent.atomic.AtomicBoolean();
            var pending = new java.util.concurrent.atomic.AtomicReference<CompletableFuture<SlotScheduler.Lease>>();
            sink.onCancel(() -> {
                cancelled.set(true);
                CompletableFuture<SlotScheduler.Lease> lease = pending.get();
                if (lease != null) {
                    lease.cancel(false);
                }
            });
            var tokens = new java.util.concurrent.atomic.AtomicInteger();
            CompletableFuture.supplyAsync(() -> countEmbeddingTokens(inputs), prepareExecutor)
                    .thenCompose(counted -> {
                        tokens.set(counted);
                        CompletableFuture<SlotScheduler.Lease> lease = scheduler.acquire();
                        pending.set(lease);
                        if (cancelled.get()) {
                            lease.cancel(false);
                        }
                        return lease;
                    })
                    .whenComplete((lease, failure) -> {
                        if (failure != null) {
                            Throwable cause = unwrap(failure);
                            sink.error(cause instanceof ApiException ? cause
                                    : new ApiException(new ApiError.EngineFailure("The engine failed: " + cause)));
                        } else if (cancelled.get()) {
                            lease.release();
                        } else {
                            try {
                                slotExecutor.execute(() -> {
                                    try {
                                        sink.success(embedAll(inputs, tokens.get(), lease));
                                    } catch (ApiException e) {
                                        sink.error(e);
                                    }
                                });
                            } catch (RejectedExecutionException shutDown) {
                                lease.release();
                                sink.error(new ApiException(unavailable()));
                            }
                        }
                    });
        });
    }

    /** Checks each input fits and returns the tokens they take together. */
    private int countEmbeddingTokens(List<String> inputs) {
        Loaded llama = loaded.join();
        int limit = Math.min(contextPerSlot, engineProperties.batchSize());
        int total = 0;
        for (int i = 0; i < inputs.size(); i++) {
            int tokens = promptTokens(llama, inputs.get(i));
            if (tokens > limit) {
                throw new ApiException(new ApiError.ContextLengthExceeded("input[" + i + "]", tokens, 0, limit));
            }
            total += tokens;
        }
        return total;
    }

    private Embeddings embedAll(List<String> inputs, int tokens, SlotScheduler.Lease lease) {
        try {
            Loaded llama = loaded.join();
            List<float[]> vectors = new ArrayList<>(inputs.size());
            for (String input : inputs) {
                vectors.add(llama.model().embed(NativeText.wellFormed(input)));
            }
            metrics.embedded(tokens);
            return new Embeddings(vectors, tokens);
        } catch (RuntimeException e) {
            LOG.error("Embedding failed: {}", e.toString());
            throw new ApiException(new ApiError.EngineFailure("The engine failed to embed the input: " + e.getMessage()));
        } finally {
            lease.release();
        }
    }

    /** Vectors in input order, and the prompt tokens they took. */
    public record Embeddings(List<float[]> vectors, int promptTokens) {
    }

    /**
     * Why a request arriving now would be refused at once (not serving, or every slot and queue place
     * taken), checked before any work is done for it. A caller with much work, such as a batch, uses it
     * to decline the whole of it up front.
     */
    public Optional<ApiException> refusalNow() {
        ApiError unavailable = unavailable();
        return unavailable != null ? Optional.of(new ApiException(unavailable)) : scheduler.refusalNow();
    }

    private ApiError unavailable() {
        return switch (state) {
            case READY -> null;
            case LOADING -> loaded.isCompletedExceptionally()
                    ? new ApiError.EngineFailure("The model could not be loaded: " + loadFailure().orElse("see the server log"))
                    : new ApiError.Unavailable("The model is still loading; retry in a moment.", LOADING_RETRY, "model_loading");
            case DRAINING, CLOSED -> SlotScheduler.shuttingDown().error();
        };
    }

    /** The failure itself, not the CompletionException a CompletableFuture stage wraps it in. */
    private static Throwable unwrap(Throwable failure) {
        return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    }

    private static int promptTokens(Loaded llama, String text) {
        return llama.model().encode(text).length + (llama.file().addsBos() ? 1 : 0);
    }

    /** What a request turns into once its prompt is rendered and measured. */
    private record Prepared(String text, int promptTokens, int maxTokens, String grammar, List<String> stop) {
    }

    /** One request's way through the engine: prepare, wait for a slot, generate, report. */
    private final class Generation {
        private final GenerationRequest request;
        private final MonoSink<GenerationStream> admission;
        private final Sinks.Many<GenerationEvent> events = Sinks.many().unicast().onBackpressureBuffer();
        private final long arrival = System.nanoTime();
        private volatile boolean cancelled;
        private volatile boolean streaming;
        private volatile CompletableFuture<SlotScheduler.Lease> pendingLease;

        Generation(GenerationRequest request, MonoSink<GenerationStream> admission) {
            this.request = request;
            this.admission = admission;
        }

        void start() {
            admission.onCancel(this::cancel);
            Optional<ApiException> refusal = refusalNow();
            if (refusal.isPresent()) {
                fail(refusal.get());
                return;
            }
            CompletableFuture.supplyAsync(this::prepare, prepareExecutor)
                    .thenCompose(this::admit)
                    .whenComplete((admitted, failure) -> {
                        if (failure != null) {
                            fail(failure);
                        } else if (cancelled) {
                            admitted.lease().release();
                            metrics.outcome(Outcome.CANCELLED);
                        } else {
                            try {
                                slotExecutor.execute(() -> run(admitted));
                            } catch (RejectedExecutionException shutDown) {
                                admitted.lease().release();
                                fail(new ApiException(unavailable()));
                            }
                        }
                    });
        }

        private record Admitted(Prepared prepared, SlotScheduler.Lease lease, long queuedNanos) {
        }

        private CompletionStage<Admitted> admit(Prepared prepared) {
            if (cancelled) {
                return CompletableFuture.failedFuture(new CancellationException());
            }
            long queuedAt = System.nanoTime();
            CompletableFuture<SlotScheduler.Lease> lease = scheduler.acquire();
            pendingLease = lease;
            if (cancelled) {
                lease.cancel(false);
            }
            return lease.thenApply(granted -> new Admitted(prepared, granted, System.nanoTime() - queuedAt));
        }

        private void cancel() {
            cancelled = true;
            CompletableFuture<SlotScheduler.Lease> lease = pendingLease;
            if (lease != null) {
                lease.cancel(false);
            }
        }

        private void fail(Throwable failure) {
            Throwable cause = unwrap(failure);
            if (cause instanceof CancellationException) {
                metrics.outcome(Outcome.CANCELLED);
                return;
            }
            if (cause instanceof ApiException api) {
                metrics.outcome(switch (api.error()) {
                    case ApiError.Overloaded o -> Outcome.OVERLOADED;
                    case ApiError.Unavailable u -> Outcome.UNAVAILABLE;
                    case ApiError.EngineFailure f -> Outcome.ERROR;
                    default -> Outcome.INVALID;
                });
                error(api);
                return;
            }
            LOG.error("Generation failed", cause);
            metrics.outcome(Outcome.ERROR);
            error(new ApiException(new ApiError.EngineFailure("The engine failed: " + cause)));
        }

        /** Before admission the error fails the admission; after it, it ends the stream of events. */
        private void error(ApiException error) {
            if (streaming) {
                events.tryEmitError(error);
            } else {
                admission.error(error);
            }
        }

        private Prepared prepare() {
            Loaded llama = loaded.join();
            List<String> stop = new ArrayList<>(request.sampling().stop().stream().map(NativeText::wellFormed).toList());
            String text;
            String promptParam;
            switch (request.prompt()) {
                case Prompt.Text(String raw) -> {
                    text = NativeText.wellFormed(raw);
                    promptParam = "prompt";
                }
                case Prompt.Chat(List<ChatMessage> messages) -> {
                    text = renderChat(llama, messages);
                    if (llama.chat() instanceof ChatFormat.Transcript) {
                        stop.addAll(ChatFormat.Transcript.STOP);
                    }
                    promptParam = "messages";
                }
            }
            int promptTokens = promptTokens(llama, text);
            Integer requested = request.maxTokens();
            int available = contextPerSlot - promptTokens;
            if ((requested != null && requested > available) || available < 1) {
                throw new ApiException(new ApiError.ContextLengthExceeded(promptParam, promptTokens,
                        requested != null ? requested : 1, contextPerSlot));
            }
            request.sampling().logitBias().keySet().stream()
                    .filter(token -> token < 0 || token >= llama.file().vocabularySize()).findFirst()
                    .ifPresent(token -> {
                        throw new ApiException(new ApiError.InvalidRequest("logit_bias",
                                "Token id %d is not in the model's vocabulary of %d tokens.".formatted(token, llama.file().vocabularySize())));
                    });
            return new Prepared(text, promptTokens, requested != null ? requested : available,
                    grammar(request.format()), List.copyOf(stop));
        }

        private void run(Admitted admitted) {
            running.add(this);
            Prepared prepared = admitted.prepared();
            metrics.queued(admitted.queuedNanos());
            long granted = System.nanoTime();
            long deadline = arrival + engineProperties.requestTimeout().toNanos();
            int tokens = 0;
            int uncounted = 0;
            boolean endedOnText = false;
            long firstToken = 0;
            long last = 0;
            boolean timedOut = false;
            try {
                LlamaModel llama = loaded.join().model();
                streaming = true;
                admission.success(new GenerationStream(events.asFlux().doOnCancel(this::cancel)));
                LlamaIterator outputs = llama.generate(parameters(prepared)).iterator();
                while (outputs.hasNext()) {
                    if (cancelled) {
                        // Only here, between tokens: cancelling while this thread waits in the binding
                        // would leave it waiting for a result that never comes.
                        LOG.debug("Generation cancelled by its client after {} tokens", tokens);
                        outputs.cancel();
                        break;
                    }
                    if (System.nanoTime() - deadline > 0) {
                        outputs.cancel();
                        timedOut = true;
                        break;
                    }
                    LlamaOutput output = outputs.next();
                    if (!outputs.hasNext()) {
                        break; // the closing result; in streaming mode it carries no text
                    }
                    // Each intermediate result stands for one decoded token: text held back (a possible stop
                    // sequence, an EOS) arrives as an empty result, and only a token that ends inside a UTF-8
                    // character sends nothing (its bytes come with the next result).
                    tokens++;
                    endedOnText = !output.text.isEmpty();
                    long now = System.nanoTime();
                    if (firstToken == 0) {
                        firstToken = now;
                        metrics.firstToken(now - arrival);
                    } else {
                        metrics.interToken(now - last);
                    }
                    last = now;
                    if (!output.text.isEmpty()) {
                        uncounted += Utf8Tokens.mayHideTokens(output.text);
                        events.tryEmitNext(new Token(output.text));
                    }
                }
                if (cancelled) {
                    metrics.outcome(Outcome.CANCELLED);
                    return;
                }
                if (timedOut) {
                    LOG.warn("A generation reached the request time limit of {} s after {} tokens",
                            engineProperties.requestTimeout().toSeconds(), tokens);
                }
                long end = System.nanoTime();
                // A token that ends inside a UTF-8 character sends no text of its own, so the count can fall short;
                // when the shortfall could reach the limit, the answer may have been cut there: say so.
                int hidden = uncounted + (endedOnText ? Utf8Tokens.MAX_UNSENT_AT_END : 0);
                FinishReason reason = timedOut || tokens + hidden >= prepared.maxTokens() ? FinishReason.LENGTH : FinishReason.STOP;
                long first = firstToken == 0 ? end : firstToken;
                Finished finished = new Finished(reason, new Usage(prepared.promptTokens(), tokens), new Timings(
                        Duration.ofNanos(admitted.queuedNanos()), Duration.ofNanos(first - granted),
                        Duration.ofNanos(end - first), Duration.ofNanos(end - arrival)));
                metrics.finished(finished);
                events.tryEmitNext(finished);
                events.tryEmitComplete();
            } catch (RuntimeException e) {
                fail(e instanceof ApiException ? e : new ApiException(new ApiError.EngineFailure(
                        "The engine failed during generation: " + e.getMessage())));
                LOG.error("Generation failed after {} tokens: {}", tokens, e.toString());
            } finally {
                admitted.lease().release();
                running.remove(this);
            }
        }

        private InferenceParameters parameters(Prepared prepared) {
            // Fresh per request: the binding's parameter objects are mutable and not safe to share.
            InferenceParameters parameters = new InferenceParameters(prepared.text())
                    .setNPredict(prepared.maxTokens())
                    .setCachePrompt(promptCache);
            GenerationRequest.Sampling s = request.sampling();
            if (s.temperature() != null) {
                parameters.setTemperature(s.temperature());
            }
            if (s.topP() != null) {
                parameters.setTopP(s.topP());
            }
            if (s.topK() != null) {
                parameters.setTopK(s.topK());
            }
            if (s.minP() != null) {
                parameters.setMinP(s.minP());
            }
            if (s.seed() != null) {
                parameters.setSeed((int) (s.seed() & 0x7fffffffL));
            }
            if (s.presencePenalty() != null) {
                parameters.setPresencePenalty(s.presencePenalty());
            }
            if (s.frequencyPenalty() != null) {
                parameters.setFrequencyPenalty(s.frequencyPenalty());
            }
            if (s.repeatPenalty() != null) {
                parameters.setRepeatPenalty(s.repeatPenalty());
            }
            if (!prepared.stop().isEmpty()) {
                parameters.setStopStrings(prepared.stop().toArray(String[]::new));
            }
            if (!s.logitBias().isEmpty()) {
                parameters.setTokenIdBias(s.logitBias());
            }
            if (prepared.grammar() != null) {
                parameters.setGrammar(prepared.grammar());
            }
            return parameters;
        }
    }

    private String renderChat(Loaded llama, List<ChatMessage> messages) {
        if (llama.chat() instanceof ChatFormat.Transcript transcript) {
            return NativeText.wellFormed(transcript.render(messages));
        }
        List<Map<String, String>> wire = new ArrayList<>(messages.size());
        for (ChatMessage message : messages) {
            Map<String, String> entry = new LinkedHashMap<>();
            entry.put("role", message.role().name().toLowerCase());
            entry.put("content", NativeText.wellFormed(message.content()));
            wire.add(entry);
        }
        try {
            return llama.model().applyTemplate(json.writeValueAsString(Map.of("messages", wire)));
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode chat messages", e);
        }
    }

    private static String grammar(ResponseFormat format) {
        return switch (format) {
            case ResponseFormat.Text t -> null;
            case ResponseFormat.Json(String grammar) -> grammar;
        };
    }

    @Override
    public CompletionStage<?> shutdownGracefully() {
        synchronized (this) {
            if (state == State.LOADING || state == State.READY) {
                state = State.DRAINING;
            }
        }
        long start = System.nanoTime();
        LOG.info("Shutting down: no new requests; waiting for {} running generation(s)", scheduler.busy());
        return scheduler.drain().thenRun(() ->
                LOG.info("All generations finished after {} ms", (System.nanoTime() - start) / 1_000_000));
    }

    @Override
    public OptionalLong reportActiveTasks() {
        return OptionalLong.of(scheduler.busy());
    }

    @PreDestroy
    void close() throws InterruptedException {
        state = State.CLOSED;
        running.forEach(Generation::cancel);
        scheduler.drain().completeOnTimeout(null, 5, TimeUnit.SECONDS).join();
        slotExecutor.shutdown();
        prepareExecutor.shutdown();
        timer.shutdownNow();
        slotExecutor.awaitTermination(5, TimeUnit.SECONDS);
        Loaded model = loaded.isDone() && !loaded.isCompletedExceptionally() ? loaded.join() : null;
        if (model != null) {
            // The binding leaves a non-daemon native thread behind (java-llama.cpp#116); exit never waits for it
            // because the shutdown is either JVM exit or a test's context close.
            model.model().close();
        }
    }

    private static ThreadFactory daemon(String name) {
        return Thread.ofPlatform().name(name + "-", 0).daemon().factory();
    }
}
