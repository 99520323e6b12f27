package io.knllama.openai;

import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Reusing a slot's KV cache across the turns of a conversation gives the same tokens as processing every prompt
 * anew, on a tiny model whose random weights make every answer depend on the whole context through attention (so
 * a wrongly reused cache shows) and whose greedy choices are never near a tie (so batch-shape rounding does not).
 */
class PromptReuseTest {

    private static final String SYSTEM = "You answer in one word. The capital of France is Paris. The sky is blue. "
            + "Two and two make four. A llama is not an alpaca. Knative scales to zero when idle.";
    private static final List<List<String>> CONVERSATIONS = List.of(
            List.of("hello", "what is the capital of France", "and the sky", "thank you"),
            List.of("one two three", "four five", "the cat and the dog", "yes or no"),
            List.of("JSON please", "is it fast or slow", "red green blue", "done"));

    private static TestServer reusing;
    private static TestServer fresh;
    private static TestServer scripted;

    @BeforeAll
    static void start() {
        // Answers " cat" in three tokens, as the text " cat" tokenizes.
        scripted = TestServer.start(TinyModel.builder().script("\u2581c", "a", "t", TinyModel.EOS).build(), Map.of());
        reusing = TestServer.start(Map.of("knllama.model.context-size", 1024));
        fresh = TestServer.start(Map.of("knllama.model.context-size", 1024, "knllama.model.prompt-cache", false,
                "knllama.engine.slots", 1));
    }

    @AfterAll
    static void stop() throws Exception {
        scripted.close();
        reusing.close();
        fresh.close();
    }

    private record Turn(String answer, int promptTokens, int completionTokens, int cachedTokens) {
    }

    private static List<Turn> converse(TestServer server, List<String> questions) {
        List<Turn> turns = new ArrayList<>();
        StringBuilder messages = new StringBuilder("{\"role\":\"system\",\"content\":\"" + SYSTEM + "\"}");
        for (String question : questions) {
            messages.append(",{\"role\":\"user\",\"content\":\"").append(question).append("\"}");
            var response = server.post("/v1/chat/completions", "{\"model\":\"tiny\",\"temperature\":0,\"max_tokens\":24,"
                    + "\"messages\":[" + messages + "]}");
            assertThat(response.status()).as(response.body()).isEqualTo(200);
            JsonNode body = response.json();
            String answer = body.get("choices").get(0).get("message").get("content").getStringValue();
            JsonNode usage = body.get("usage");
            turns.add(new Turn(answer, usage.get("prompt_tokens").getIntValue(), usage.get("completion_tokens").getIntValue(),
                    usage.get("prompt_tokens_details").get("cached_tokens").getIntValue()));
            messages.append(",{\"role\":\"assistant\",\"content\":").append(json(answer)).append('}');
        }
        return turns;
    }

    private static String json(String text) {
        StringBuilder out = new StringBuilder("\"");
        text.codePoints().forEach(cp -> {
            if (cp == '"' || cp == '\\') {
                out.append('\\').appendCodePoint(cp);
            } else if (cp < 0x20 || (cp >= 0xD800 && cp <= 0xDFFF)) {
                out.append("\\u%04x".formatted(cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.append('"').toString();
    }

    @Test
    void conversations_replayed_on_both_slots_under_load_give_the_same_tokens_as_without_reuse() throws Exception {
        List<List<Turn>> expected = CONVERSATIONS.stream().map(c -> converse(fresh, c)).toList();

        AtomicBoolean done = new AtomicBoolean();
        ExecutorService clients = Executors.newFixedThreadPool(4);
        try {
            // Other traffic on the same slots meanwhile: completions and abandoned streams.
            Future<?> noise = clients.submit(() -> {
                while (!done.get()) {
                    reusing.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"the sea is\",\"max_tokens\":8}");
                }
                return null;
            });
            List<Future<List<Turn>>> replays = new ArrayList<>();
            for (List<String> conversation : CONVERSATIONS) {
                replays.add(clients.submit((Callable<List<Turn>>) () -> converse(reusing, conversation)));
            }
            for (int i = 0; i < CONVERSATIONS.size(); i++) {
                List<Turn> actual = replays.get(i).get();
                for (int turn = 0; turn < actual.size(); turn++) {
                    assertThat(actual.get(turn).answer()).as("conversation %d, turn %d", i, turn + 1)
                            .isEqualTo(expected.get(i).get(turn).answer());
                }
            }
            done.set(true);
            noise.get();
        } finally {
            done.set(true);
            clients.shutdownNow();
        }
    }

    @Test
    void each_turn_reuses_the_previous_turns_prompt_and_answer_and_says_so_in_usage() {
        List<Turn> turns = converse(reusing, List.of("first question", "second question", "third question"));

        for (int i = 1; i < turns.size(); i++) {
            Turn previous = turns.get(i - 1);
            Turn turn = turns.get(i);
            assertThat(turn.cachedTokens()).as("turn %d", i + 1)
                    .isGreaterThanOrEqualTo(previous.promptTokens())
                    .isLessThan(turn.promptTokens());
        }
        assertThat(reusing.get("/metrics").body()).containsPattern("knllama_prompt_cached_tokens_total [1-9]");
    }

    @Test
    void the_next_turn_reports_the_previous_prompt_and_its_whole_answer_as_reused() {
        List<Turn> turns = converse(scripted, List.of("hi there", "again"));

        assertThat(turns.get(0).answer()).isEqualTo(" cat");
        // The slot holds the first prompt and " c", "a", "t" (the end-of-text token was sampled, never processed).
        assertThat(turns.get(1).cachedTokens()).isEqualTo(turns.get(0).promptTokens() + 3);
    }

    @Test
    void without_reuse_no_prompt_token_is_reported_as_cached() {
        List<Turn> turns = converse(fresh, List.of("first question", "second question"));

        assertThat(turns).extracting(Turn::cachedTokens).containsOnly(0);
    }
}
