package io.knllama.openai;

import io.knllama.error.ApiException;
import io.knllama.inference.Completion;
import io.knllama.inference.GenerationEvent;
import io.knllama.inference.GenerationStream;
import io.knllama.inference.Embeddings;
import io.knllama.inference.ModelInfo;
import io.micronaut.http.sse.Event;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Pure translation of engine results into OpenAI response objects and server-sent event streams.
 *
 * <p>A stream is: a first chunk carrying the role, one chunk per piece of text, a chunk carrying
 * {@code finish_reason}, with {@code stream_options.include_usage} a chunk carrying {@code usage} and no
 * choices, then {@code data: [DONE]}. If the engine fails after the stream has begun, an error object
 * ({@code {"error": {...}}}) is the stream's last event instead, as OpenAI's clients expect.
 */
public final class OpenAiResponses {

    static final String FINGERPRINT = "knllama-llama.cpp-b4916";
    private static final Event<String> DONE = Event.of("[DONE]");

    private OpenAiResponses() {
    }

    /** The fields every object of one response shares. */
    public record Header(String id, long created, String model) {
    }

    public static ChatCompletion chat(Header header, Completion completion) {
        return new ChatCompletion(header.id(), "chat.completion", header.created(), header.model(), FINGERPRINT,
                List.of(new ChatCompletion.Choice(0, new ChatCompletion.Message("assistant", completion.text(), null), null,
                        completion.finishReason().wireName())),
                UsageBody.of(completion.usage()));
    }

    static Flux<Event<?>> chatStream(Header header, GenerationStream stream, boolean includeUsage) {
        Flux<Event<?>> chunks = stream.events().concatMapIterable(event -> switch (event) {
            case GenerationEvent.Token token -> List.of(Event.of(chatChunk(header, new ChatCompletionChunk.Delta(null, token.text()), null)));
            case GenerationEvent.Finished finished -> {
                List<Event<?>> last = new ArrayList<>(2);
                last.add(Event.of(chatChunk(header, new ChatCompletionChunk.Delta(null, null), finished.reason().wireName())));
                if (includeUsage) {
                    last.add(Event.of(new ChatCompletionChunk(header.id(), "chat.completion.chunk", header.created(),
                            header.model(), FINGERPRINT, List.of(), UsageBody.of(finished.usage()))));
                }
                yield last;
            }
        });
        Event<?> first = Event.of(chatChunk(header, new ChatCompletionChunk.Delta("assistant", ""), null));
        return terminated(Flux.concat(Mono.just(first), chunks));
    }

    private static ChatCompletionChunk chatChunk(Header header, ChatCompletionChunk.Delta delta, String finishReason) {
        return new ChatCompletionChunk(header.id(), "chat.completion.chunk", header.created(), header.model(), FINGERPRINT,
                List.of(new ChatCompletionChunk.Choice(0, delta, null, finishReason)), null);
    }

    public static TextCompletion text(Header header, Completion completion, String echo) {
        String text = echo == null ? completion.text() : echo + completion.text();
        return new TextCompletion(header.id(), "text_completion", header.created(), header.model(), FINGERPRINT,
                List.of(new TextCompletion.Choice(text, 0, null, completion.finishReason().wireName())),
                UsageBody.of(completion.usage()));
    }

    static Flux<Event<?>> textStream(Header header, GenerationStream stream, boolean includeUsage, String echo) {
        Flux<Event<?>> chunks = stream.events().concatMapIterable(event -> switch (event) {
            case GenerationEvent.Token token -> List.of(Event.of(textChunk(header, token.text(), null)));
            case GenerationEvent.Finished finished -> {
                List<Event<?>> last = new ArrayList<>(2);
                last.add(Event.of(textChunk(header, "", finished.reason().wireName())));
                if (includeUsage) {
                    last.add(Event.of(new TextCompletion(header.id(), "text_completion", header.created(), header.model(),
                            FINGERPRINT, List.of(), UsageBody.of(finished.usage()))));
                }
                yield last;
            }
        });
        Flux<Event<?>> echoed = echo == null ? Flux.empty() : Flux.just(Event.of(textChunk(header, echo, null)));
        return terminated(Flux.concat(echoed, chunks));
    }

    private static TextCompletion textChunk(Header header, String text, String finishReason) {
        return new TextCompletion(header.id(), "text_completion", header.created(), header.model(), FINGERPRINT,
                List.of(new TextCompletion.Choice(text, 0, null, finishReason)), null);
    }

    /** Ends a stream with {@code [DONE]}, or with an error event if the engine fails midway. */
    private static Flux<Event<?>> terminated(Flux<Event<?>> events) {
        return Flux.concat(events, Mono.just(DONE))
                .onErrorResume(ApiException.class, e -> Mono.just(Event.of(ErrorBody.of(e.error()))));
    }

    static ModelList models(ModelInfo info) {
        return new ModelList("list", List.of(model(info)));
    }

    static ModelList.ModelObject model(ModelInfo info) {
        return new ModelList.ModelObject(info.id(), "model", info.created().getEpochSecond(), "knllama",
                new ModelList.Meta(info.fileName(), info.architecture(), info.name(), info.sizeBytes(), info.contextPerSlot(),
                        info.slots(), info.chatFormat(), info.embeddings()));
    }

    static EmbeddingList embeddings(String model, Embeddings embeddings, boolean base64) {
        List<EmbeddingList.Item> items = new ArrayList<>(embeddings.vectors().size());
        for (int i = 0; i < embeddings.vectors().size(); i++) {
            float[] vector = embeddings.vectors().get(i);
            items.add(new EmbeddingList.Item("embedding", i, base64 ? base64(vector) : vector));
        }
        return new EmbeddingList("list", items, model,
                new EmbeddingList.Usage(embeddings.promptTokens(), embeddings.promptTokens()));
    }

    private static String base64(float[] vector) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * vector.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(vector);
        return Base64.getEncoder().encodeToString(bytes.array());
    }
}
