package io.knllama.events;

import io.micronaut.json.JsonMapper;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThatCode;

class SinkEmitterTest {

    @Test
    void a_sink_that_cannot_be_addressed_is_logged_and_never_fails_the_batch_item() {
        EventsProperties properties = new EventsProperties(64, Duration.ofSeconds(240), 2_000_000, 32_000_000,
                Duration.ofMinutes(15), URI.create("/knllama"), URI.create("ftp://sink.example/items"));
        SinkEmitter sink = new SinkEmitter(properties, JsonMapper.createDefault());

        assertThatCode(() -> sink.emit("batch-1", BatchResult.Item.ok("a", "body"))).doesNotThrowAnyException();
    }
}
