package io.knllama.events;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.format.EventDeserializationException;
import io.cloudevents.core.format.EventFormat;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.http.HttpMessageFactory;
import io.cloudevents.jackson.JsonFormat;
import io.cloudevents.rw.CloudEventRWException;
import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.error.Echo;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Post;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import reactor.core.publisher.Mono;

import java.io.ByteArrayOutputStream;

/**
 * CloudEvents over HTTP, as a Knative Trigger delivers them: binary mode ({@code ce-*} headers) or
 * structured mode ({@code application/cloudevents+json}). The reply event goes back in the response, in
 * the mode the request came in, and the Broker re-enqueues it.
 *
 * <p>Statuses follow Knative's delivery rules: 200 with the reply; 400 for an event that can never
 * succeed (malformed, unknown type, invalid data, too large a batch: it goes to the dead-letter sink
 * without retries); 503 with {@code Retry-After} when overloaded or shutting down (the broker retries).
 * A failure of one batch item is reported in the batch's result, not as a failed delivery.
 */
@Controller
@Tag(name = "CloudEvents")
final class EventsController {

    private final EventProcessor processor;
    private final long maxEventSize;

    EventsController(EventProcessor processor, EventsProperties properties) {
        this.processor = processor;
        this.maxEventSize = properties.maxEventSize();
    }

    /** Dispatched by the event's type. {@code /} is where a Trigger with a plain service sink delivers. */
    @Operation(summary = "A CloudEvent (binary or structured mode), dispatched by type: io.knllama.prompt.v1 or io.knllama.batch.v1")
    @Post(uris = {"/", "/events"}, consumes = MediaType.ALL, produces = MediaType.ALL)
    Mono<MutableHttpResponse<byte[]>> receive(HttpRequest<byte[]> request) {
        CloudEvent event = read(request);
        EventProcessor.Kind kind = switch (event.getType()) {
            case EventTypes.PROMPT -> EventProcessor.Kind.PROMPT;
            case EventTypes.BATCH -> EventProcessor.Kind.BATCH;
            default -> throw new ApiException(new ApiError.InvalidRequest("type", ("Unknown event type '%s'; this function "
                    + "consumes '%s' and '%s' (or any type at /events/prompt and /events/batch).")
                    .formatted(Echo.of(event.getType()), EventTypes.PROMPT, EventTypes.BATCH)));
        };
        return answer(request, event, kind);
    }

    /** Any event type, data as a prompt: for sources that cannot choose their type. */
    @Operation(summary = "A CloudEvent of any type, its data read as a chat request")
    @Post(uri = "/events/prompt", consumes = MediaType.ALL, produces = MediaType.ALL)
    Mono<MutableHttpResponse<byte[]>> prompt(HttpRequest<byte[]> request) {
        return answer(request, read(request), EventProcessor.Kind.PROMPT);
    }

    /** Any event type, data as a batch: for a PingSource, whose events are all {@code dev.knative.sources.ping}. */
    @Operation(summary = "A CloudEvent of any type, its data read as a batch")
    @Post(uri = "/events/batch", consumes = MediaType.ALL, produces = MediaType.ALL)
    Mono<MutableHttpResponse<byte[]>> batch(HttpRequest<byte[]> request) {
        return answer(request, read(request), EventProcessor.Kind.BATCH);
    }

    private Mono<MutableHttpResponse<byte[]>> answer(HttpRequest<byte[]> request, CloudEvent event, EventProcessor.Kind kind) {
        boolean structured = structured(request);
        return Mono.fromFuture(processor.handle(event, kind), true)
                .map(reply -> write(reply, structured));
    }

    /**
     * The event in the request. Anything that is not one (missing attributes, a body that is no JSON object in
     * structured mode, bad {@code data_base64}) is a 400 {@code invalid_event}: it can never succeed, so Knative
     * dead-letters it instead of retrying it as it would a 5xx.
     */
    private CloudEvent read(HttpRequest<byte[]> request) {
        byte[] body = request.getBody().orElse(new byte[0]);
        if (body.length > maxEventSize) {
            throw new ApiException(new ApiError.HttpRejection(413, "request_too_large", ("The event is %d bytes; this "
                    + "function takes events of up to %d bytes (KNLLAMA_EVENTS_MAX_EVENT_SIZE). Split the batch.")
                    .formatted(body.length, maxEventSize)));
        }
        if (structured(request) && !startsLikeAnObject(body)) {
            throw notAnEvent("a structured-mode event is a JSON object");
        }
        CloudEvent event;
        try {
            event = HttpMessageFactory.createReader(headers -> request.getHeaders()
                    .forEach((name, values) -> values.forEach(value -> headers.accept(name, value))), body).toEvent();
        } catch (CloudEventRWException | EventDeserializationException | IllegalStateException | IllegalArgumentException e) {
            throw notAnEvent(reason(e));
        }
        if (event == null) {
            throw notAnEvent("the request holds no event");
        }
        return event;
    }

    private static boolean structured(HttpRequest<?> request) {
        return request.getContentType().map(MediaType::getName).filter(type -> type.startsWith("application/cloudevents")).isPresent();
    }

    private static boolean startsLikeAnObject(byte[] body) {
        for (byte b : body) {
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                return b == '{';
            }
        }
        return false;
    }

    /** The innermost cause's first line, cut short: the SDK wraps Jackson's messages in its own, class names included. */
    private static String reason(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? "unreadable" : root.getMessage().lines().findFirst().orElse("unreadable");
        return Echo.of(message);
    }

    private static ApiException notAnEvent(String reason) {
        return new ApiException(new ApiError.InvalidRequest(null, "Not a CloudEvent: " + reason + ". Send ce-specversion, "
                + "ce-id, ce-source and ce-type headers, or an application/cloudevents+json body.", "invalid_event"));
    }

    private static MutableHttpResponse<byte[]> write(CloudEvent reply, boolean structured) {
        MutableHttpResponse<byte[]> response = HttpResponse.ok();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        var writer = HttpMessageFactory.createWriter(response::header, body::writeBytes);
        if (structured) {
            EventFormat format = EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE);
            writer.writeStructured(reply, format);
        } else {
            writer.writeBinary(reply);
        }
        return response.body(body.toByteArray());
    }
}
