package io.knllama.ollama;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.inference.CompleteFunction;
import io.knllama.inference.Engine;
import io.knllama.inference.ModelInfo;
import io.knllama.request.RequestFields;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.json.JsonMapper;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.io.IOException;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The Ollama-compatible routes. Bodies are read as bytes whatever their content type (Ollama's own examples
 * send JSON with curl's form content type, and some clients send none) and parsed here.
 *
 * <p>Streams ({@code application/x-ndjson}, Ollama's default) answer with a status only once the generation
 * holds a slot: a shed or invalid request gets a plain HTTP error with {@code {"error": ...}}, never a 200
 * followed by an error line; an error after that is the stream's last line.
 */
@Controller("/api")
@Tag(name = "Ollama")
@SecurityRequirement(name = "apiKey")
@ApiResponse(responseCode = "4XX", description = "Invalid request, unknown model, missing API key",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ErrorResponse.class)))
@ApiResponse(responseCode = "503", description = "Overloaded, loading or shutting down; see Retry-After",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ErrorResponse.class)))
final class OllamaController {

    static final MediaType NDJSON = MediaType.of("application/x-ndjson");

    private final Engine engine;
    private final CompleteFunction complete;
    private final JsonMapper json;
    private final Clock clock = Clock.systemUTC();
    private final AtomicBoolean loadReported = new AtomicBoolean();

    OllamaController(Engine engine, CompleteFunction complete, JsonMapper json) {
        this.engine = engine;
        this.complete = complete;
        this.json = json;
    }

    @Post(uri = "/chat", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON, "application/x-ndjson"})
    @Operation(summary = "Chat", description = "Answers a conversation as newline-delimited JSON (one object per piece, the last with done: true), or as one object with stream: false.")
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(implementation = OllamaSchemas.ChatRequest.class)))
    @ApiResponse(responseCode = "200", content = {
            @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ChatResponse.class)),
            @Content(mediaType = "application/x-ndjson", schema = @Schema(implementation = ChatResponse.class))})
    Mono<MutableHttpResponse<?>> chat(@Body byte[] body) {
        ModelInfo info = engine.info();
        OllamaRequests.Generation request = OllamaRequests.chat(RequestFields.parse(json, body), info.contextPerSlot());
        String model = served(request.model(), info);
        if (request.generation() == null) {
            return Mono.just(answer(request.stream(), OllamaResponses.chatIdle(model, clock.instant(), request.unload())));
        }
        if (request.stream()) {
            return engine.generate(request.generation()).map(stream ->
                    ndjson(OllamaResponses.chatStream(model, stream, clock, loadNanos(info))));
        }
        return complete.apply(request.generation()).map(completion ->
                HttpResponse.ok(OllamaResponses.chat(model, clock.instant(), completion, loadNanos(info))));
    }

    @Post(uri = "/generate", consumes = MediaType.ALL, produces = {MediaType.APPLICATION_JSON, "application/x-ndjson"})
    @Operation(summary = "Generate", description = "Completes a prompt, streamed as newline-delimited JSON unless stream is false.")
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(implementation = OllamaSchemas.GenerateRequest.class)))
    @ApiResponse(responseCode = "200", content = {
            @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = GenerateResponse.class)),
            @Content(mediaType = "application/x-ndjson", schema = @Schema(implementation = GenerateResponse.class))})
    Mono<MutableHttpResponse<?>> generate(@Body byte[] body) {
        ModelInfo info = engine.info();
        OllamaRequests.Generation request = OllamaRequests.generate(RequestFields.parse(json, body), info.contextPerSlot());
        String model = served(request.model(), info);
        if (request.generation() == null) {
            return Mono.just(answer(request.stream(), OllamaResponses.generateIdle(model, clock.instant(), request.unload())));
        }
        if (request.stream()) {
            return engine.generate(request.generation()).map(stream ->
                    ndjson(OllamaResponses.generateStream(model, stream, clock, loadNanos(info))));
        }
        return complete.apply(request.generation()).map(completion ->
                HttpResponse.ok(OllamaResponses.generate(model, clock.instant(), completion, loadNanos(info))));
    }

    @Post(uri = "/embed", consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    @Operation(summary = "Embed")
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(implementation = OllamaSchemas.EmbedRequest.class)))
    @ApiResponse(responseCode = "200", content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = EmbedResponse.class)))
    Mono<EmbedResponse> embed(@Body byte[] body) {
        ModelInfo info = engine.info();
        OllamaRequests.Embed request = OllamaRequests.embed(RequestFields.parse(json, body), info.contextPerSlot());
        String model = served(request.model(), info);
        if (request.inputs().isEmpty()) {
            return Mono.just(new EmbedResponse(model, List.of(), 0, 0, 0));
        }
        long start = System.nanoTime();
        return engine.embed(request.inputs()).map(embeddings ->
                OllamaResponses.embed(model, embeddings, System.nanoTime() - start, loadNanos(info)));
    }

    @Get(uri = "/tags", produces = MediaType.APPLICATION_JSON)
    @Operation(summary = "The served model, as Ollama lists local models")
    @ApiResponse(responseCode = "200", content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ModelListing.Tags.class)))
    ModelListing.Tags tags() {
        return OllamaResponses.tags(engine.info());
    }

    @Get(uri = "/ps", produces = MediaType.APPLICATION_JSON)
    @Operation(summary = "The served model, as Ollama lists loaded models")
    @ApiResponse(responseCode = "200", content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ModelListing.Running.class)))
    ModelListing.Running ps() {
        return OllamaResponses.running(engine.info());
    }

    @Post(uri = "/show", consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    @Operation(summary = "Details of the served model")
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(implementation = OllamaSchemas.ShowRequest.class)))
    @ApiResponse(responseCode = "200", content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ModelListing.Show.class)))
    ModelListing.Show show(@Body byte[] body) {
        ModelInfo info = engine.info();
        served(OllamaRequests.show(RequestFields.parse(json, body)), info);
        return OllamaResponses.show(info);
    }

    @Get(uri = "/version", produces = MediaType.APPLICATION_JSON)
    @Operation(summary = "The Ollama API version these routes follow")
    @ApiResponse(responseCode = "200", content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ModelListing.Version.class)))
    ModelListing.Version version() {
        return OllamaResponses.version();
    }

    /** Model management: the served model is fixed at deployment, so these are refused with a reason. */
    @Operation(summary = "Model management: refused with 400", description = "The model is fixed at deployment.")
    @Post(uris = {"/pull", "/push", "/create", "/copy"}, consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    HttpResponse<?> manage() {
        throw fixedModel();
    }

    @Operation(summary = "Model deletion: refused with 400")
    @Delete(uri = "/delete", consumes = MediaType.ALL, produces = MediaType.APPLICATION_JSON)
    HttpResponse<?> delete() {
        throw fixedModel();
    }

    private static ApiException fixedModel() {
        return new ApiException(new ApiError.Unsupported(null, "This server serves one model, chosen at deployment "
                + "(KNLLAMA_MODEL_PATH); models cannot be pulled, pushed, created, copied or deleted through the API."));
    }

    /** A non-streamed answer, or the same object as a one-line stream when the client asked for a stream. */
    private MutableHttpResponse<?> answer(boolean stream, Object response) {
        return stream ? ndjson(Flux.just(response)) : HttpResponse.ok(response);
    }

    private MutableHttpResponse<?> ndjson(Flux<Object> objects) {
        Flux<byte[]> lines = objects.map(object -> {
            try {
                byte[] encoded = json.writeValueAsBytes(object);
                byte[] line = new byte[encoded.length + 1];
                System.arraycopy(encoded, 0, line, 0, encoded.length);
                line[encoded.length] = '\n';
                return line;
            } catch (IOException e) {
                throw new IllegalStateException("cannot encode a response object", e);
            }
        });
        return HttpResponse.ok(lines).contentType(NDJSON);
    }

    /** The model load time for the first answer this process gives, as Ollama reports it; 0 afterwards. */
    private long loadNanos(ModelInfo info) {
        return loadReported.compareAndSet(false, true) ? info.loadTime().toNanos() : 0;
    }

    private static String served(String requested, ModelInfo info) {
        if (!OllamaRequests.names(requested, info.id())) {
            throw new ApiException(new ApiError.ModelNotFound(requested, OllamaRequests.listedName(info.id())));
        }
        return requested;
    }
}
