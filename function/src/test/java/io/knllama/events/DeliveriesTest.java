package io.knllama.events;

import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

class DeliveriesTest {

    private static CloudEvent event(String id, String data) {
        return CloudEventBuilder.v1().withId(id).withSource(URI.create("/test")).withType(EventTypes.PROMPT)
                .withData("application/json", data.getBytes(StandardCharsets.UTF_8)).build();
    }

    private static CloudEvent reply(int bytes) {
        return CloudEventBuilder.v1().withId("reply").withSource(URI.create("/knllama")).withType(EventTypes.COMPLETION)
                .withData("application/json", new byte[bytes]).build();
    }

    @Test
    void a_redelivery_of_the_same_event_gets_the_first_reply() {
        Deliveries deliveries = new Deliveries(1_000_000, Duration.ofMinutes(15));
        CompletableFuture<CloudEvent> first = new CompletableFuture<>();
        CompletableFuture<CloudEvent> again = new CompletableFuture<>();

        assertThat(deliveries.claim(Deliveries.key(event("1", "{}"), EventProcessor.Kind.PROMPT), first)).isSameAs(first);
        assertThat(deliveries.claim(Deliveries.key(event("1", "{}"), EventProcessor.Kind.PROMPT), again)).isSameAs(first);
    }

    @Test
    void an_event_reusing_another_events_source_and_id_with_other_data_or_at_another_route_is_answered_on_its_own() {
        Deliveries deliveries = new Deliveries(1_000_000, Duration.ofMinutes(15));
        CompletableFuture<CloudEvent> first = new CompletableFuture<>();
        CompletableFuture<CloudEvent> otherData = new CompletableFuture<>();
        CompletableFuture<CloudEvent> otherRoute = new CompletableFuture<>();

        deliveries.claim(Deliveries.key(event("1", "{\"a\":1}"), EventProcessor.Kind.PROMPT), first);

        assertThat(deliveries.claim(Deliveries.key(event("1", "{\"a\":2}"), EventProcessor.Kind.PROMPT), otherData)).isSameAs(otherData);
        assertThat(deliveries.claim(Deliveries.key(event("1", "{\"a\":1}"), EventProcessor.Kind.BATCH), otherRoute)).isSameAs(otherRoute);
    }

    @Test
    void a_reply_is_weighed_by_its_data_once_it_is_answered() {
        Deliveries deliveries = new Deliveries(10_000_000, Duration.ofMinutes(15));
        CompletableFuture<CloudEvent> reply = new CompletableFuture<>();
        deliveries.claim(Deliveries.key(event("1", "{}"), EventProcessor.Kind.PROMPT), reply);
        long pending = deliveries.weightedBytes();

        reply.complete(reply(500_000));

        assertThat(pending).isLessThan(2 * Deliveries.OVERHEAD_BYTES);
        assertThat(deliveries.weightedBytes()).isGreaterThanOrEqualTo(pending + 500_000);
    }

    @Test
    void the_memory_of_deliveries_holds_at_most_its_size_in_bytes() {
        Deliveries deliveries = new Deliveries(1_000_000, Duration.ofMinutes(15));
        for (int i = 0; i < 60; i++) {
            CompletableFuture<CloudEvent> reply = new CompletableFuture<>();
            deliveries.claim(Deliveries.key(event("e" + i, "{}"), EventProcessor.Kind.BATCH), reply);
            reply.complete(reply(100_000));
        }

        // 60 replies of 100 KB: 6 MB offered; which ones stay is Caffeine's choice (recency and frequency).
        assertThat(deliveries.weightedBytes()).isLessThanOrEqualTo(1_000_000).isGreaterThan(100_000);
    }

    @Test
    void a_forgotten_delivery_runs_again_when_redelivered() {
        Deliveries deliveries = new Deliveries(1_000_000, Duration.ofMinutes(15));
        Deliveries.Key key = Deliveries.key(event("1", "{}"), EventProcessor.Kind.PROMPT);
        CompletableFuture<CloudEvent> failed = new CompletableFuture<>();
        CompletableFuture<CloudEvent> retry = new CompletableFuture<>();
        deliveries.claim(key, failed);

        deliveries.forget(key, failed);

        assertThat(deliveries.claim(key, retry)).isSameAs(retry);
    }
}
