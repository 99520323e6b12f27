package io.knllama.events;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.http.HttpMessageFactory;
import io.micronaut.json.JsonMapper;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.UUID;

/**
 * Sends each batch item's result to {@code K_SINK} as its own event, as soon as it is ready, so
 * consumers need not wait for the whole batch. Best effort: the batch's reply carries every result
 * anyway, so a failed send is logged and not retried.
 */
@Singleton
final class SinkEmitter {

    private static final Logger LOG = LoggerFactory.getLogger(SinkEmitter.class);

    private final EventsProperties properties;
    private final JsonMapper json;
    private volatile HttpClient http;

    SinkEmitter(EventsProperties properties, JsonMapper json) {
        this.properties = properties;
        this.json = json;
    }

    void emit(String batchId, BatchResult.Item item) {
        if (properties.sink() == null || properties.sink().toString().isBlank()) {
            return; // no SinkBinding: the batch's reply is the only result
        }
        CloudEvent event;
        try {
            event = CloudEventBuilder.v1()
                    .withId(UUID.randomUUID().toString())
                    .withSource(properties.source())
                    .withType(EventTypes.BATCH_ITEM)
                    .withSubject(item.customId())
                    .withExtension("knllamabatch", batchId)
                    .withTime(OffsetDateTime.now())
                    .withDataContentType("application/json")
                    .withData(json.writeValueAsBytes(item))
                    .build();
        } catch (IOException e) {
            LOG.warn("Could not encode the result of item {}: {}", item.customId(), e.toString());
            return;
        }
        try {
            HttpRequest.Builder request = HttpRequest.newBuilder(properties.sink()).timeout(Duration.ofSeconds(10));
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            HttpMessageFactory.createWriter(request::header, body::writeBytes).writeBinary(event);
            client().sendAsync(request.POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
                            HttpResponse.BodyHandlers.discarding())
                    .whenComplete((response, failure) -> {
                        if (failure != null || response.statusCode() >= 300) {
                            LOG.warn("Could not send the result of batch {} item {} to K_SINK: {}", batchId, item.customId(),
                                    failure != null ? failure.toString() : "HTTP " + response.statusCode());
                        }
                    });
        } catch (RuntimeException e) {
            // Best effort, and called for each item of a running batch: a sink that cannot even be addressed
            // (an ftp:// K_SINK, say) must not fail the batch, whose reply carries every result anyway.
            LOG.warn("Could not send the result of batch {} item {} to K_SINK {}: {}", batchId, item.customId(),
                    properties.sink(), e.toString());
        }
    }

    private HttpClient client() {
        HttpClient client = http;
        if (client == null) {
            synchronized (this) {
                if (http == null) {
                    http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
                }
                client = http;
            }
        }
        return client;
    }
}
