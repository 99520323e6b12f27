package io.knllama.openai;

import io.knllama.testing.TestServer;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Prompts at the edge of a slot's context: the function's own check decides, and llama.cpp agrees with it. */
class ContextLimitTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("knllama.model.context-size", 4096));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    /** A completion prompt of exactly {@code tokens} tokens ("▁a" each, after BOS). */
    private static String prompt(int tokens) {
        return " a".repeat(tokens - 1).substring(1);
    }

    private static TestServer.Response complete(int promptTokens, int maxTokens) {
        return server.post("/v1/completions", "{\"model\":\"tiny\",\"temperature\":0,\"prompt\":\"" + prompt(promptTokens)
                + "\",\"max_tokens\":" + maxTokens + "}");
    }

    @Test
    void prompts_that_fill_both_slots_to_the_last_token_are_answered() {
        var first = complete(4095, 1);
        var second = complete(4094, 2);
        var third = complete(4093, 3);

        assertThat(first.json().get("usage").get("prompt_tokens").getIntValue()).isEqualTo(4095);
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        assertThat(second.status()).as(second.body()).isEqualTo(200);
        assertThat(third.status()).as(third.body()).isEqualTo(200);
    }

    @Test
    void one_token_more_than_the_context_is_a_400_context_length_exceeded() {
        var response = complete(4095, 2);

        assertThat(response.status()).isEqualTo(400);
        JsonNode error = response.json().get("error");
        assertThat(error.get("code").getStringValue()).isEqualTo("context_length_exceeded");
        assertThat(error.get("param").getStringValue()).isEqualTo("prompt");
    }

    @Test
    void a_prompt_longer_than_any_context_could_hold_is_refused_without_being_tokenized() {
        // 200,000 letters: as many tokens in this vocabulary, a minute's work for llama.cpp's tokenizer on a large
        // vocabulary. No token spells more than the vocabulary's longest entry ("<|im_start|>", 12 bytes), so more
        // than 4096 x 12 bytes cannot fit, and the estimate in the message shows nothing was tokenized.
        var response = server.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"" + "a".repeat(200_000) + "\",\"max_tokens\":1}");

        assertThat(response.status()).isEqualTo(400);
        JsonNode error = response.json().get("error");
        assertThat(error.get("code").getStringValue()).isEqualTo("context_length_exceeded");
        assertThat(error.get("message").getStringValue()).contains("(16667 in the prompt,");
    }
}
