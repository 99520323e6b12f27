package io.knllama.e2e;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Prompt reuse on the real model, as a chat client sees it through the official OpenAI SDK: each turn of a
 * conversation reports the previous turn's prompt as cached, and a second user sharing the system prompt reuses it
 * once both slots hold it; and the same conversations replayed with reuse, on both slots while other requests run,
 * give the tokens a server without reuse gives. That comparison uses turns whose continuation the model is sure of
 * (lists it knows): where its two best tokens are all but tied, llama.cpp's arithmetic for different batch shapes
 * can pick either, with or without reuse (README Known limits; token-for-token equality on every turn is checked on
 * a tiny model in the function's PromptReuseTest).
 */
class PromptReuseIT {

    private static final String SYSTEM = "You are a concise assistant for a travel agency. Answer in one short sentence. "
            + "Prefer facts about capitals, rivers and mountains. Never invent prices. If you do not know, say so. "
            + "Write plain text without lists or markup, and address the traveller politely.";
    private static FunctionProcess function;

    @BeforeAll
    static void start() {
        function = FunctionProcess.start("prompt-reuse", Map.of("KNLLAMA_ENGINE_SLOTS", "2"));
    }

    @AfterAll
    static void stop() {
        function.close();
    }

    private static OpenAIClient openAi() {
        return OpenAIOkHttpClient.builder().baseUrl(function.baseUrl()).apiKey("not-needed").maxRetries(0).build();
    }

    /** Asks each question in turn, resending the conversation as clients do; returns each turn's usage. */
    private static List<CompletionUsage> converse(List<String> questions) {
        OpenAIClient client = openAi();
        ChatCompletionCreateParams.Builder conversation = ChatCompletionCreateParams.builder()
                .model(FunctionProcess.MODEL_ID).maxCompletionTokens(24).temperature(0.0).addSystemMessage(SYSTEM);
        List<CompletionUsage> usages = new ArrayList<>();
        for (String question : questions) {
            conversation.addUserMessage(question);
            ChatCompletion completion = client.chat().completions().create(conversation.build());
            usages.add(completion.usage().orElseThrow());
            conversation.addMessage(completion.choices().getFirst().message());
        }
        return usages;
    }

    private static long cached(CompletionUsage usage) {
        return usage.promptTokensDetails().orElseThrow().cachedTokens().orElseThrow();
    }

    /** Ten turns each, history fixed (the same text whatever the model answers), growing with every turn. */
    private static final List<List<String>> SURE_CONVERSATIONS = List.of(
            List.of("Monday, Tuesday,", "January, February,", "one, two, three,", "Mercury, Venus,", "A, B, C, D,",
                    "red, orange, yellow,", "first, second, third,", "do, re, mi,", "alpha, beta, gamma,", "spring, summer,"),
            List.of("1, 2, 3, 4,", "10, 20, 30,", "Sunday, Monday,", "North, East,", "a, b, c, d,",
                    "I, II, III,", "March, April,", "2, 4, 6, 8,", "Earth, Mars,", "morning, noon,"));

    /** Each turn's answer, the history resent as clients do but with fixed earlier answers. */
    private static List<String> replay(String baseUrl, List<String> turns) {
        OpenAIClient client = OpenAIOkHttpClient.builder().baseUrl(baseUrl).apiKey("not-needed").maxRetries(0).build();
        ChatCompletionCreateParams.Builder conversation = ChatCompletionCreateParams.builder()
                .model(FunctionProcess.MODEL_ID).maxCompletionTokens(6).temperature(0.0);
        List<String> answers = new ArrayList<>();
        for (String turn : turns) {
            conversation.addUserMessage("Continue the list: " + turn);
            answers.add(client.chat().completions().create(conversation.build()).choices().getFirst().message().content().orElse(""));
            conversation.addAssistantMessage("Done.");
        }
        return answers;
    }

    @Test
    void conversations_replayed_with_reuse_on_both_slots_under_load_give_the_tokens_of_a_server_without_reuse() throws Exception {
        List<List<String>> expected = new ArrayList<>();
        try (FunctionProcess without = FunctionProcess.start("prompt-reuse-off",
                Map.of("KNLLAMA_ENGINE_SLOTS", "1", "KNLLAMA_MODEL_PROMPT_CACHE", "false"))) {
            for (List<String> conversation : SURE_CONVERSATIONS) {
                expected.add(replay(without.baseUrl(), conversation));
            }
        }

        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            var noise = pool.submit(() -> converse(List.of("Describe a river.", "And a mountain?", "And a city?")));
            List<java.util.concurrent.Future<List<String>>> replays = new ArrayList<>();
            for (List<String> conversation : SURE_CONVERSATIONS) {
                replays.add(pool.submit(() -> replay(function.baseUrl(), conversation)));
            }
            for (int i = 0; i < replays.size(); i++) {
                assertThat(replays.get(i).get()).as("conversation %d", i + 1).isEqualTo(expected.get(i));
            }
            noise.get();
        }
    }

    @Test
    void every_turn_after_the_first_reuses_at_least_the_previous_turns_prompt() {
        List<CompletionUsage> turns = converse(List.of("What is the capital of France?", "Which river runs through it?",
                "And the highest mountain of the country?", "Thank you."));

        for (int i = 1; i < turns.size(); i++) {
            assertThat(cached(turns.get(i))).as("turn %d", i + 1)
                    .isGreaterThanOrEqualTo(turns.get(i - 1).promptTokens())
                    .isLessThan(turns.get(i).promptTokens());
        }
    }

    @Test
    void users_sharing_the_system_prompt_reuse_it_once_each_slot_holds_it() {
        long system = converse(List.of("Hi.")).getFirst().promptTokens();
        converse(List.of("Where is Rome?"));

        CompletionUsage third = converse(List.of("What is the capital of Spain?")).getFirst();

        // The system prompt and the first user turn's opening: what every one of these prompts starts with.
        assertThat(cached(third)).isGreaterThanOrEqualTo(system - 8).isLessThan(third.promptTokens());
    }
}
