package io.knllama.inference;

import io.knllama.inference.GenerationEvent.Finished;
import io.knllama.inference.GenerationEvent.Token;
import io.knllama.inference.GenerationRequest.ChatMessage;
import io.knllama.inference.GenerationRequest.ChatMessage.Role;
import io.knllama.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class GenerationRunTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final GenerationRequest.Sampling GREEDY =
            new GenerationRequest.Sampling(0f, null, null, null, null, null, null, null, List.of(), Map.of());

    private static TestServer server;
    private static Engine engine;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("knllama.model.context-size", 1024));
        engine = server.context().getBean(Engine.class);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private record Turn(String answer, GenerationEvent.Usage usage) {
    }

    private static GenerationRequest chat(List<ChatMessage> messages) {
        return new GenerationRequest(new GenerationRequest.Prompt.Chat(messages), GREEDY, 16, null);
    }

    private static Turn run(List<ChatMessage> messages) {
        List<GenerationEvent> events = engine.generate(chat(messages)).flatMapMany(GenerationStream::events)
                .collectList().block(LIMIT);
        return turn(events);
    }

    private static Turn turn(List<GenerationEvent> events) {
        StringBuilder answer = new StringBuilder();
        GenerationEvent.Usage usage = null;
        for (GenerationEvent event : events) {
            if (event instanceof Token token) {
                answer.append(token.text());
            } else if (event instanceof Finished finished) {
                usage = finished.usage();
            }
        }
        return new Turn(answer.toString(), usage);
    }

    private static List<ChatMessage> then(List<ChatMessage> messages, String answer, String question) {
        List<ChatMessage> next = new ArrayList<>(messages);
        next.add(new ChatMessage(Role.ASSISTANT, answer));
        next.add(new ChatMessage(Role.USER, question));
        return next;
    }

    @Test
    void a_turn_sent_the_moment_the_previous_one_ends_finds_its_slot_free_and_reuses_it() {
        List<ChatMessage> first = List.of(new ChatMessage(Role.SYSTEM, "You answer in one word."),
                new ChatMessage(Role.USER, "first question"));
        Turn one = run(first);
        List<ChatMessage> second = then(first, one.answer(), "second question");

        // The next turn goes out from inside the end of this one, as a client that sends it the moment it has read
        // the answer: the slot this turn used must be free by then, or the next turn lands on the other slot.
        List<GenerationEvent> secondEvents = new ArrayList<>();
        AtomicReference<Turn> third = new AtomicReference<>();
        engine.generate(chat(second)).flatMapMany(GenerationStream::events).doOnNext(event -> {
            secondEvents.add(event);
            if (event instanceof Finished) {
                third.set(run(then(second, turn(secondEvents).answer(), "third question")));
            }
        }).blockLast(LIMIT);

        Turn two = turn(secondEvents);
        assertThat(two.usage().cachedTokens()).as("the second turn reuses the first").isGreaterThanOrEqualTo(one.usage().promptTokens());
        assertThat(third.get().usage().cachedTokens()).as("the third turn reuses the second")
                .isGreaterThanOrEqualTo(two.usage().promptTokens())
                .isLessThan(third.get().usage().promptTokens());
    }
}
