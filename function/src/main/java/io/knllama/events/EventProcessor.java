package io.knllama.events;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.error.Echo;
import io.knllama.inference.CompleteFunction;
import io.knllama.inference.Engine;
import io.knllama.openai.OpenAiRequests;
import io.knllama.openai.OpenAiResponses;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * Answers prompt and batch events through the same completion function the HTTP API uses.
 *
 * <p>Delivery is at least once: a broker redelivers when it gets no answer in time. A redelivered
 * event (same {@code source}, {@code id} and content, see {@link Deliveries}) that is still being answered, or
 * was answered within {@code dedupTtl}, gets the same reply without the work being done again. The memory of
 * deliveries is this process's: after a restart a redelivered event is answered anew. A delivery that failed is
 * forgotten, whatever the failure, so a redelivery is evaluated again: it runs when the failure was worth a
 * retry (overload, loading, shutdown), and costs a parse otherwise.
 */
@Singleton
final class EventProcessor {

    private static final Logger LOG = LoggerFactory.getLogger(EventProcessor.class);
    private static final Set<String> BATCH_URLS = Set.of("/v1/chat/completions", "/v1/completions");

    enum Kind { PROMPT, BATCH }

    private final Engine engine;
    private final CompleteFunction complete;
    private final JsonMapper json;
    private final EventsProperties properties;
    private final SinkEmitter sink;
    private final Deliveries deliveries;

    EventProcessor(Engine engine, CompleteFunction complete, JsonMapper json, EventsProperties properties, SinkEmitter sink) {
        this.engine = engine;
        this.complete = complete;
        this.json = json;
        this.properties = properties;
        this.sink = sink;
        this.deliveries = new Deliveries(properties.dedupMaxSize(), properties.dedupTtl());
    }

    /** The reply to {@code event}; completes exceptionally with an {@link ApiException} when it cannot be answered. */
    CompletableFuture<CloudEvent> handle(CloudEvent event, Kind kind) {
        Deliveries.Key key = Deliveries.key(event, kind);
        CompletableFuture<CloudEvent> reply = new CompletableFuture<>();
        CompletableFuture<CloudEvent> first = deliveries.claim(key, reply);
        if (first != reply) {
            LOG.info("Event {} from {} was delivered again; answering with the first delivery's reply",
                    Echo.of(event.getId()), Echo.of(event.getSource().toString()));
            return first;
        }
        // The work is not tied to this HTTP exchange: if the broker gives up waiting and redelivers,
        // the redelivery picks up the same result.
        Mono<CloudEvent> work = Mono.defer(() -> kind == Kind.PROMPT ? prompt(event) : batch(event));
        work.subscribe(reply::complete, failure -> {
            deliveries.forget(key, reply);
            reply.completeExceptionally(failure);
        });
        return reply;
    }

    private Mono<CloudEvent> prompt(CloudEvent event) {
        OpenAiRequests.Chat request = chat(data(event), "");
        return complete.apply(request.generation())
                .map(completion -> OpenAiResponses.chat(header("chatcmpl-"), completion))
                .map(body -> reply(event, EventTypes.COMPLETION, body));
    }

    private record BatchItem(String customId, String url, JsonNode body) {
    }

    private Mono<CloudEvent> batch(CloudEvent event) {
        List<BatchItem> items = batchItems(data(event));
        // Declined whole, up front, when a single request would be: the broker redelivers it later.
        engine.refusalNow().ifPresent(refusal -> {
            throw refusal;
        });
        Instant deadline = Instant.now().plus(properties.batchTimeout());
        long started = System.nanoTime();
        return Flux.fromIterable(items)
                .flatMapSequential(item -> item(event.getId(), item, deadline), engine.slots())
                .collectList()
                .map(results -> {
                    int completed = (int) results.stream().filter(BatchResult.Item::succeeded).count();
                    LOG.info("Batch {}: {} items, {} completed, {} failed, in {} ms", event.getId(), results.size(),
                            completed, results.size() - completed, (System.nanoTime() - started) / 1_000_000);
                    return reply(event, EventTypes.BATCH_RESULT, new BatchResult(event.getId(), engine.info().id(),
                            new BatchResult.Counts(results.size(), completed, results.size() - completed), results));
                });
    }

    private Mono<BatchResult.Item> item(String batchId, BatchItem item, Instant deadline) {
        Mono<Object> work = Mono.defer(() -> {
                    String at = "requests[" + item.customId() + "].body.";
                    if (item.url().equals("/v1/completions")) {
                        OpenAiRequests.Text request = completion(item.body(), at);
                        return complete.apply(request.generation())
                                .map(completion -> (Object) OpenAiResponses.text(header("cmpl-"), completion, request.echo()));
                    }
                    OpenAiRequests.Chat request = chat(item.body(), at);
                    return complete.apply(request.generation())
                            .map(completion -> (Object) OpenAiResponses.chat(header("chatcmpl-"), completion));
                })
                // Other traffic may fill the queue for a moment: an item waits its turn rather than fail.
                .retryWhen(Retry.backoff(Long.MAX_VALUE, Duration.ofMillis(200)).maxBackoff(Duration.ofSeconds(2))
                        .filter(EventProcessor::retriableHere))
                .timeout(Duration.between(Instant.now(), deadline).isNegative() ? Duration.ZERO : Duration.between(Instant.now(), deadline));
        return settled(item.customId(), work, properties.batchTimeout())
                .doOnNext(result -> sink.emit(batchId, result));
    }

    /**
     * One item's outcome: every failure becomes the item's error, so that no item can fail the delivery of the
     * others, except shutting down, which fails the whole delivery (the other items are cancelled): better
     * another instance runs the batch than this one reports work it did not do.
     */
    static Mono<BatchResult.Item> settled(String customId, Mono<?> work, Duration batchTimeout) {
        return work.map(body -> BatchResult.Item.ok(customId, body))
                .onErrorResume(TimeoutException.class, timeout -> Mono.just(BatchResult.Item.failed(customId,
                        new ApiError.TimedOut("The batch's time limit of %d s passed before this item finished."
                                .formatted(batchTimeout.toSeconds())))))
                .onErrorResume(failure -> !(failure instanceof ApiException), failure -> {
                    LOG.error("Batch item {} failed", customId, failure);
                    return Mono.just(BatchResult.Item.failed(customId, new ApiError.EngineFailure(failure.toString())));
                })
                .onErrorResume(ApiException.class, e -> e.error().retry() == ApiError.Retry.ELSEWHERE ? Mono.error(e)
                        : Mono.just(BatchResult.Item.failed(customId, e.error())));
    }

    /** Other traffic filled the queue, or the model is still loading: this instance will take the item soon. */
    private static boolean retriableHere(Throwable failure) {
        return failure instanceof ApiException e && e.error().retry() == ApiError.Retry.HERE;
    }

    private List<BatchItem> batchItems(JsonNode data) {
        JsonNode requests = data.isObject() ? data.get("requests") : data;
        if (requests == null || !requests.isArray()) {
            throw invalid("data", "A batch's data must be an array of requests, or an object with a 'requests' array.");
        }
        if (requests.size() == 0 || requests.size() > properties.maxBatchItems()) {
            throw invalid("data", "A batch must hold 1 to %d requests; this one holds %d. Split it into smaller batches."
                    .formatted(properties.maxBatchItems(), requests.size()));
        }
        Set<String> ids = new HashSet<>();
        java.util.ArrayList<BatchItem> items = new java.util.ArrayList<>(requests.size());
        int index = 0;
        for (JsonNode request : requests.values()) {
            String at = "requests[" + index++ + "]";
            if (!request.isObject()) {
                throw invalid(at, "Each request must be an object with 'custom_id' and 'body'.");
            }
            JsonNode id = request.get("custom_id");
            if (id == null || !id.isString() || id.getStringValue().isBlank() || id.getStringValue().length() > 256) {
                throw invalid(at + ".custom_id", "Each request needs a 'custom_id': a non-empty string of at most 256 characters.");
            }
            if (!ids.add(id.getStringValue())) {
                throw invalid(at + ".custom_id", "'custom_id' %s appears twice; results could not be told apart.".formatted(id.getStringValue()));
            }
            JsonNode url = request.get("url");
            String path = url == null || url.isNull() ? "/v1/chat/completions" : url.isString() ? url.getStringValue() : "";
            if (!BATCH_URLS.contains(path)) {
                throw invalid(at + ".url", "'url' must be one of " + BATCH_URLS + ".");
            }
            JsonNode method = request.get("method");
            if (method != null && !method.isNull() && !(method.isString() && method.getStringValue().equals("POST"))) {
                throw invalid(at + ".method", "'method' must be POST.");
            }
            JsonNode body = request.get("body");
            if (body == null || !body.isObject()) {
                throw invalid(at + ".body", "Each request needs a 'body' object.");
            }
            items.add(new BatchItem(id.getStringValue(), path, body));
        }
        return items;
    }

    private OpenAiRequests.Chat chat(JsonNode body, String at) {
        OpenAiRequests.Chat request = OpenAiRequests.chat(withModel(body));
        checkForEvents(request.model(), request.stream(), at);
        return request;
    }

    private OpenAiRequests.Text completion(JsonNode body, String at) {
        OpenAiRequests.Text request = OpenAiRequests.completion(withModel(body));
        checkForEvents(request.model(), request.stream(), at);
        return request;
    }

    /**
     * What an event's request may not ask for: another model (not worth a redelivery, so a 400 here rather
     * than HTTP's 404) or a stream.
     */
    private void checkForEvents(String model, boolean stream, String at) {
        String served = engine.info().id();
        if (!served.equals(model)) {
            throw invalid(at + "model", new ApiError.ModelNotFound(model, served).message());
        }
        if (stream) {
            throw invalid(at + "stream", "Events cannot stream; leave 'stream' out.");
        }
    }

    /** Events may leave out {@code model}: there is only one. */
    private JsonNode withModel(JsonNode body) {
        if (!body.isObject() || body.get("model") != null) {
            return body;
        }
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        body.entries().forEach(entry -> fields.put(entry.getKey(), entry.getValue()));
        fields.put("model", JsonNode.createStringNode(engine.info().id()));
        return JsonNode.createObjectNode(fields);
    }

    private JsonNode data(CloudEvent event) {
        if (event.getData() == null) {
            throw invalid("data", "The event carries no data.");
        }
        try {
            JsonNode data = json.readValue(event.getData().toBytes(), JsonNode.class);
            // JSON null (or no JSON at all) reads as no node; what may not be null is decided by the request's kind.
            return data == null ? JsonNode.nullNode() : data;
        } catch (IOException e) {
            throw invalid("data", "The event's data is not JSON.");
        }
    }

    private CloudEvent reply(CloudEvent request, String type, Object body) {
        try {
            return CloudEventBuilder.v1()
                    .withId(UUID.randomUUID().toString())
                    .withSource(properties.source())
                    .withType(type)
                    .withSubject(request.getId())
                    .withTime(java.time.OffsetDateTime.now())
                    .withDataContentType("application/json")
                    .withData(json.writeValueAsBytes(body))
                    .build();
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode the reply", e);
        }
    }

    private OpenAiResponses.Header header(String prefix) {
        return new OpenAiResponses.Header(prefix + UUID.randomUUID().toString().replace("-", ""),
                Instant.now().getEpochSecond(), engine.info().id());
    }

    private static ApiException invalid(String param, String message) {
        return new ApiException(new ApiError.InvalidRequest(param, message));
    }
}
