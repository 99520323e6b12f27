package io.knllama.openai;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.request.RequestFields;
import io.knllama.inference.CompleteFunction;
import io.knllama.inference.Engine;
import io.knllama.openai.OpenAiResponses.Header;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.json.JsonMapper;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.parameters.RequestBody;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import reactor.core.publisher.Mono;

import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The OpenAI-compatible routes. Bodies are read as bytes and parsed here, so that malformed JSON,
 * invalid UTF-8 and wrong types all come back as OpenAI errors naming the parameter.
 *
 * <p>Streams answer with a status only once the generation holds a slot: a shed or invalid request
 * gets a proper 4xx/503, never a 200 followed by an error event.
 */
@Controller("/v1")
@Tag(name = "OpenAI")
@SecurityRequirement(name = "apiKey")
@ApiResponse(responseCode = "4XX", description = "Invalid request, unknown model, missing API key",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ErrorBody.class)))
@ApiResponse(responseCode = "503", description = "Overloaded, loading or shutting down; see Retry-After",
        content = @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ErrorBody.class)))
final class OpenAiController {

    private final Engine engine;
    private final CompleteFunction complete;
    private final JsonMapper json;

    OpenAiController(Engine engine, CompleteFunction complete, JsonMapper json) {
        this.engine = engine;
        this.complete = complete;
        this.json = json;
    }

    @Post(uri = "/chat/completions", consumes = MediaType.APPLICATION_JSON, produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    @Operation(summary = "Chat completion", description = "Answers a conversation, whole or streamed as server-sent events.")
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(implementation = OpenAiSchemas.ChatRequest.class)))
    @ApiResponse(responseCode = "200", content = {
            @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = ChatCompletion.class)),
            @Content(mediaType = MediaType.TEXT_EVENT_STREAM, schema = @Schema(implementation = ChatCompletionChunk.class))})
    Mono<MutableHttpResponse<?>> chatCompletions(@Body byte[] body) {
        OpenAiRequests.Chat request = OpenAiRequests.chat(RequestFields.parse(json, body));
        Header header = header("chatcmpl-", request.model());
        if (request.stream()) {
            return engine.generate(request.generation()).map(stream -> HttpResponse
                    .ok(OpenAiResponses.chatStream(header, stream, request.includeUsage()))
                    .contentType(MediaType.TEXT_EVENT_STREAM_TYPE));
        }
        return complete.apply(request.generation()).map(completion -> HttpResponse.ok(OpenAiResponses.chat(header, completion)));
    }

    @Post(uri = "/completions", consumes = MediaType.APPLICATION_JSON, produces = {MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
    @Operation(summary = "Text completion (legacy)", description = "Continues a prompt, whole or streamed.")
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(implementation = OpenAiSchemas.TextRequest.class)))
    @ApiResponse(responseCode = "200", content = {
            @Content(mediaType = MediaType.APPLICATION_JSON, schema = @Schema(implementation = TextCompletion.class)),
            @Content(mediaType = MediaType.TEXT_EVENT_STREAM, schema = @Schema(implementation = TextCompletion.class))})
    Mono<MutableHttpResponse<?>> completions(@Body byte[] body) {
        OpenAiRequests.Text request = OpenAiRequests.completion(RequestFields.parse(json, body));
        Header header = header("cmpl-", request.model());
        if (request.stream()) {
            return engine.generate(request.generation()).map(stream -> HttpResponse
                    .ok(OpenAiResponses.textStream(header, stream, request.includeUsage(), request.echo()))
                    .contentType(MediaType.TEXT_EVENT_STREAM_TYPE));
        }
        return complete.apply(request.generation())
                .map(completion -> HttpResponse.ok(OpenAiResponses.text(header, completion, request.echo())));
    }

    @Post(uri = "/embeddings", consumes = MediaType.APPLICATION_JSON, produces = MediaType.APPLICATION_JSON)
    @Operation(summary = "Embeddings", description = "One vector per input (the last token's hidden state).")
    @RequestBody(required = true, content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(implementation = OpenAiSchemas.EmbedRequest.class)))
    @ApiResponse(responseCode = "200", content = @Content(mediaType = MediaType.APPLICATION_JSON,
            schema = @Schema(implementation = EmbeddingList.class)))
    Mono<MutableHttpResponse<EmbeddingList>> embeddings(@Body byte[] body) {
        OpenAiRequests.Embed request = OpenAiRequests.embedding(RequestFields.parse(json, body));
        String model = served(request.model());
        return engine.embed(request.inputs())
                .map(embeddings -> HttpResponse.ok(OpenAiResponses.embeddings(model, embeddings, request.base64())));
    }

    @Get(uri = "/models", produces = MediaType.APPLICATION_JSON)
    @Operation(summary = "The served model")
    ModelList models() {
        return OpenAiResponses.models(engine.info());
    }

    @Get(uri = "/models/{+id}", produces = MediaType.APPLICATION_JSON)
    @Operation(summary = "The served model, by id")
    ModelList.ModelObject model(@PathVariable String id) {
        served(id);
        return OpenAiResponses.model(engine.info());
    }

    private String served(String model) {
        String id = engine.info().id();
        if (!id.equals(model)) {
            throw new ApiException(new ApiError.ModelNotFound(model, id));
        }
        return id;
    }

    private Header header(String prefix, String model) {
        return new Header(prefix + randomId(), Instant.now().getEpochSecond(), served(model));
    }

    private static String randomId() {
        String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        ThreadLocalRandom random = ThreadLocalRandom.current();
        StringBuilder id = new StringBuilder(24);
        for (int i = 0; i < 24; i++) {
            id.append(alphabet.charAt(random.nextInt(alphabet.length())));
        }
        return id.toString();
    }
}
