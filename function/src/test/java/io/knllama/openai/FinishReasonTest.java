package io.knllama.openai;

import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * finish_reason for answers spelled in byte tokens: llama.cpp sends no text for a token that ends inside a
 * UTF-8 character, so counting what it sends undercounts the tokens. The model here writes "€" as its three
 * bytes, one token each, over and over.
 */
class FinishReasonTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TinyModel.builder().script("<0xE2>", "<0x82>", "<0xAC>").build(), Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void an_answer_cut_by_max_tokens_inside_a_character_reports_length() {
        JsonNode body = server.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"x\",\"max_tokens\":5}").json();

        // Tokens 1-3 spell one "€"; tokens 4-5 start the next and are cut off with it.
        assertThat(body.get("choices").get(0).get("text").getStringValue()).isEqualTo("\u20ac");
        assertThat(body.get("choices").get(0).get("finish_reason").getStringValue()).isEqualTo("length");
    }

    @Test
    void an_answer_cut_by_max_tokens_after_several_characters_reports_length() {
        JsonNode body = server.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"x\",\"max_tokens\":9}").json();

        assertThat(body.get("choices").get(0).get("text").getStringValue()).isEqualTo("\u20ac\u20ac\u20ac");
        assertThat(body.get("choices").get(0).get("finish_reason").getStringValue()).isEqualTo("length");
    }
}
