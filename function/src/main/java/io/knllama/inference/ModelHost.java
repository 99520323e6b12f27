package io.knllama.inference;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import de.kherud.llama.args.PoolingType;
import io.knllama.error.ApiError;
import io.knllama.model.ModelFile;
import io.knllama.model.ModelProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one owner of the native model for the life of the process: checks the file, loads it, closes it.
 *
 * <p>The GGUF file is checked before llama.cpp sees it (a bad file would abort the process inside the native
 * loader), then loaded, both on a thread of their own while the application context and the HTTP server start
 * (begun from {@code main}, before the context, where {@link EarlyLoad} can read the settings). If either fails
 * there is nothing to serve: the engine that {@linkplain #superviseFailure() supervises} the load ends the process
 * with status 1 after saying why, so the platform restarts it and shows the reason (unless
 * {@code exit-on-load-failure} is off, when requests get the reason as a 500).
 */
final class ModelHost {

    private static final Logger LOG = LoggerFactory.getLogger(ModelHost.class);
    private static final Logger NATIVE_LOG = LoggerFactory.getLogger("llama.cpp");
    private static final Duration LOADING_RETRY = Duration.ofSeconds(1);

    /** The model once checked and loaded, with what was learned from its file. */
    record Loaded(ModelFile file, ChatFormat chat, LiteralContent literal, LlamaModel model) {
    }

    private final ModelProperties modelProperties;
    private final EngineProperties engineProperties;
    private final int slots;
    private final CompletableFuture<Loaded> loaded = new CompletableFuture<>();
    private final Instant created = Instant.now();
    private volatile Duration loadTime = Duration.ZERO;
    /** Set by discard(): nothing more is loaded, and a model still loading is freed when it arrives. */
    private volatile boolean closed;
    private final AtomicBoolean freed = new AtomicBoolean();

    ModelHost(ModelProperties modelProperties, EngineProperties engineProperties, int slots) {
        ChatFormat.checkConfigured(modelProperties);
        this.modelProperties = modelProperties;
        this.engineProperties = engineProperties;
        this.slots = slots;
    }

    /** Starts the load on a thread of its own; not after {@link #close()}. */
    void startLoading() {
        if (!closed) {
            Thread.ofPlatform().name("llama-load").daemon().start(this::load);
        }
    }

    /** Whether this host loads the model these settings describe. */
    boolean loadsWith(ModelProperties model, EngineProperties engine) {
        return modelProperties.equals(model) && engineProperties.equals(engine);
    }

    private void load() {
        try {
            checkAndLoad();
        } catch (Throwable unexpected) {
            // A defect, not a bad file: still a failed load, said so, rather than "loading" for ever.
            failed("Cannot serve the model: its load failed unexpectedly: " + unexpected, unexpected);
        }
    }

    private void checkAndLoad() {
        long start = System.nanoTime();
        long begun = sinceJvmStart();
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
        // Off the path to the first token: read while llama.cpp loads the weights.
        CompletableFuture<LiteralContent> literal = new CompletableFuture<>();
        Thread.ofPlatform().name("llama-vocabulary").daemon().start(() -> {
            try {
                literal.complete(new LiteralContent(ModelFile.controlTokens(file.path())));
            } catch (Throwable e) {
                literal.completeExceptionally(e);
            }
        });
        try {
            LlamaModel llama = new LlamaModel(parameters(file, chat));
            loadTime = Duration.ofNanos(System.nanoTime() - start);
            loaded.complete(new Loaded(file, chat, literal.join(), llama));
            if (closed) {
                return; // closed while it loaded: discard() has freed it
            }
            LOG.info("Model '{}' checked in {} ms, loaded in {} ms (begun {} ms, done {} ms after JVM start): {} ({}, {} MB), "
                            + "{} slots x {} tokens, {} threads, chat: {}, prompt cache {}",
                    modelProperties.effectiveId(), (checked - start) / 1_000_000, (System.nanoTime() - checked) / 1_000_000,
                    begun, sinceJvmStart(), file.path(), file.architecture(), file.sizeBytes() >> 20, slots,
                    modelProperties.contextSize(), engineProperties.effectiveThreads(), chat.description(),
                    modelProperties.promptCache() ? "on" : "off");
        } catch (Throwable failure) {
            failed("llama.cpp could not load %s (%s '%s'): %s".formatted(file.path(), file.architecture(), file.name(),
                    failure.getMessage()), failure);
        }
    }

    private void failed(String reason, Throwable failure) {
        loaded.completeExceptionally(new IllegalStateException(reason, failure));
    }

    /**
     * Acts on a failed load as configured, when it fails: exits, or stays up and says so. Called by the engine that
     * serves this model; a load begun early and then {@linkplain #discard() discarded} fails quietly.
     */
    void superviseFailure() {
        loaded.exceptionally(failure -> {
            if (engineProperties.exitOnLoadFailure()) {
                LOG.error("{}. The process exits: it has nothing to serve.", failure.getMessage());
                // Not from this thread: System.exit waits for shutdown hooks, which may wait for the context.
                new Thread(() -> System.exit(1), "llama-load-failed").start();
            } else {
                LOG.error("{}. Requests get 500 until the process is restarted.", failure.getMessage());
            }
            return null;
        });
    }

    /**
     * Frees the model once its load has ended, whenever that is, and loads nothing more: for a load no engine
     * adopted, and for {@link #close()}.
     */
    CompletionStage<Void> discard() {
        closed = true;
        return loaded.handle((model, failure) -> {
            if (model != null) {
                free(model);
            }
            return null;
        });
    }

    private void free(Loaded model) {
        if (freed.compareAndSet(false, true)) {
            model.model().close();
        }
    }

    /** Whether the model has been freed. */
    boolean freed() {
        return freed.get();
    }

    private ModelParameters parameters(ModelFile file, ChatFormat chat) {
        int threads = engineProperties.effectiveThreads();
        ModelParameters parameters = new ModelParameters()
                .setModel(file.path().toString())
                .setThreads(threads)
                .setThreadsBatch(threads)
                .setParallel(slots)
                .setCtxSize(slots * modelProperties.contextSize())
                .setBatchSize(engineProperties.batchSize())
                .setUbatchSize(modelProperties.embeddings() ? engineProperties.batchSize() : Math.min(512, engineProperties.batchSize()))
                // Requests never run past their slot's context (NativeRequests caps the tokens); a context shift would
                // rewrite a slot's cache behind PromptCache's back.
                .disableContextShift();
        if (modelProperties.gpuLayers() > 0) {
            parameters.setGpuLayers(modelProperties.gpuLayers());
        } else {
            // On the CPU, llama.cpp's warm-up (a two-token decode during the load, so that the first request finds
            // the weights paged in) only competes with Micronaut's start for the cores: a cold start's first request
            // waits for the load either way, and without it the first token comes ~70 ms sooner (PERFORMANCE.md). On a
            // GPU it also sets up the backend's kernels, which nobody here has measured: left as llama.cpp does it.
            parameters.skipWarmup();
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

    /** Completes when the model is loaded; never when loading fails. */
    CompletionStage<Void> whenLoaded() {
        return loaded.thenAccept(model -> { });
    }

    /** The loaded model, once it is; empty while loading or after a failure. */
    Optional<Loaded> loaded() {
        return loaded.isDone() && !loaded.isCompletedExceptionally() ? Optional.of(loaded.join()) : Optional.empty();
    }

    /** The loaded model, for work admitted while it is: {@link #unavailable()} said it is there. */
    Loaded require() {
        return loaded().orElseThrow(() -> new IllegalStateException("the model is not loaded"));
    }

    /** Why no request can be served now: still loading, or loading failed; empty once loaded. */
    Optional<ApiError> unavailable() {
        if (!loaded.isDone()) {
            return Optional.of(new ApiError.Unavailable("The model is still loading; retry in a moment.",
                    LOADING_RETRY, ApiError.Unavailable.Reason.LOADING));
        }
        return failure().map(reason -> new ApiError.EngineFailure("The model could not be loaded: " + reason));
    }

    Optional<String> failure() {
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

    Duration loadTime() {
        return loadTime;
    }

    ModelInfo info() {
        Loaded model = loaded().orElse(null);
        return new ModelInfo(modelProperties.effectiveId(), created, modelProperties.file().getFileName().toString(),
                model == null ? "" : model.file().architecture(), model == null ? "" : model.file().name(),
                model == null ? 0 : model.file().sizeBytes(), modelProperties.contextSize(), slots,
                model == null ? "" : model.chat().description(), modelProperties.embeddings(), loadTime);
    }

    /**
     * Frees the native model. The binding leaves a non-daemon native thread behind (java-llama.cpp#116); exit never
     * waits for it because the shutdown is either JVM exit or a test's context close.
     */
    void close() {
        discard();
    }

    /**
     * The JVM's uptime: what start-up costs. (The process's start time from {@code /proc} rests on a boot time with
     * whole-second precision, which put this figure up to a second off.)
     */
    private static long sinceJvmStart() {
        return java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();
    }
}
