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
 * once both slots hold it. (Token-for-token equality with reuse off is checked on a tiny model in the function's
 * PromptReuseTest: on Gemma greedy output may differ at near-ties, see README Known limits.)
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
