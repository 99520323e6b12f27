package io.knllama.openai;

import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Chat and text completions over HTTP, against a model scripted to answer " hello world" and stop. */
class ChatCompletionsTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TinyModel.builder().script("\u2581hello", "\u2581world", TinyModel.EOS).build(), Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static String chat(String extra) {
        return """
                {"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi there"}]%s}
                """.formatted(extra);
    }

    @Test
    void answers_a_chat_with_the_models_text_and_a_natural_stop() {
        var response = server.post("/v1/chat/completions", chat(""));

        assertThat(response.status()).isEqualTo(200);
        JsonNode body = response.json();
        assertThat(body.get("object").getStringValue()).isEqualTo("chat.completion");
        assertThat(body.get("id").getStringValue()).startsWith("chatcmpl-");
        assertThat(body.get("model").getStringValue()).isEqualTo("tiny");
        JsonNode choice = body.get("choices").get(0);
        assertThat(choice.get("message").get("role").getStringValue()).isEqualTo("assistant");
        assertThat(choice.get("message").get("content").getStringValue()).isEqualTo(" hello world");
        assertThat(choice.get("finish_reason").getStringValue()).isEqualTo("stop");
        JsonNode usage = body.get("usage");
        // " hello", " world" and the end-of-sequence token
        assertThat(usage.get("completion_tokens").getIntValue()).isEqualTo(3);
        assertThat(usage.get("prompt_tokens").getIntValue()).isGreaterThan(5);
        assertThat(usage.get("total_tokens").getIntValue())
                .isEqualTo(usage.get("prompt_tokens").getIntValue() + usage.get("completion_tokens").getIntValue());
    }

    @Test
    void an_answer_the_model_spelled_otherwise_than_its_text_tokenizes_is_not_reported_as_reused() {
        JsonNode first = server.post("/v1/chat/completions", chat("")).json();
        JsonNode second = server.post("/v1/chat/completions", """
                {"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi there"},
                 {"role":"assistant","content":" hello world"},{"role":"user","content":"again"}]}
                """).json();

        // The model writes " hello" and " world" as one token each; the tiny vocabulary has no merges that spell them
        // so from text, so the next prompt holds them as letters: only the first prompt is reused.
        assertThat(second.get("usage").get("prompt_tokens_details").get("cached_tokens").getIntValue())
                .isEqualTo(first.get("usage").get("prompt_tokens").getIntValue());
    }

    @Test
    void reports_length_when_max_tokens_cuts_the_answer() {
        JsonNode body = server.post("/v1/chat/completions", chat(",\"max_tokens\":1")).json();

        assertThat(body.get("choices").get(0).get("message").get("content").getStringValue()).isEqualTo(" hello");
        assertThat(body.get("choices").get(0).get("finish_reason").getStringValue()).isEqualTo("length");
        assertThat(body.get("usage").get("completion_tokens").getIntValue()).isEqualTo(1);
    }

    @Test
    void max_completion_tokens_works_like_max_tokens() {
        JsonNode body = server.post("/v1/chat/completions", chat(",\"max_completion_tokens\":2")).json();

        assertThat(body.get("choices").get(0).get("message").get("content").getStringValue()).isEqualTo(" hello world");
        assertThat(body.get("choices").get(0).get("finish_reason").getStringValue()).isEqualTo("length");
    }

    @Test
    void a_stop_sequence_ends_the_answer_without_including_it() {
        JsonNode body = server.post("/v1/chat/completions", chat(",\"stop\":[\"world\"]")).json();

        assertThat(body.get("choices").get(0).get("message").get("content").getStringValue()).isEqualTo(" hello ");
        assertThat(body.get("choices").get(0).get("finish_reason").getStringValue()).isEqualTo("stop");
    }

    @Test
    void streams_a_role_chunk_then_content_then_the_finish_reason_then_usage_then_done() throws Exception {
        try (var stream = server.stream("/v1/chat/completions", chat(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"))) {
            assertThat(stream.status()).isEqualTo(200);
            assertThat(stream.header("content-type")).startsWith("text/event-stream");
            List<String> events = stream.rest();

            assertThat(events.getLast()).isEqualTo("[DONE]");
            JsonNode first = stream.parse(events.getFirst());
            assertThat(first.get("object").getStringValue()).isEqualTo("chat.completion.chunk");
            assertThat(first.get("choices").get(0).get("delta").get("role").getStringValue()).isEqualTo("assistant");
            StringBuilder content = new StringBuilder();
            String finish = null;
            JsonNode usage = null;
            for (String event : events.subList(0, events.size() - 1)) {
                JsonNode chunk = stream.parse(event);
                assertThat(chunk.get("id").getStringValue()).isEqualTo(first.get("id").getStringValue());
                if (chunk.get("choices").size() == 0) {
                    usage = chunk.get("usage");
                    continue;
                }
                JsonNode choice = chunk.get("choices").get(0);
                JsonNode text = choice.get("delta").get("content");
                if (text != null) {
                    content.append(text.getStringValue());
                }
                if (!choice.get("finish_reason").isNull()) {
                    finish = choice.get("finish_reason").getStringValue();
                }
            }
            assertThat(content.toString()).isEqualTo(" hello world");
            assertThat(finish).isEqualTo("stop");
            assertThat(usage).isNotNull();
            assertThat(usage.get("completion_tokens").getIntValue()).isEqualTo(3);
        }
    }

    @Test
    void streams_without_a_usage_chunk_unless_asked() throws Exception {
        try (var stream = server.stream("/v1/chat/completions", chat(",\"stream\":true"))) {
            List<String> events = stream.rest();
            assertThat(events.getLast()).isEqualTo("[DONE]");
            for (String event : events.subList(0, events.size() - 1)) {
                assertThat(stream.parse(event).get("choices").size()).isEqualTo(1);
            }
        }
    }

    @Test
    void a_message_holding_a_control_tokens_text_is_read_as_that_text_not_as_the_token() {
        String template = """
                {"model":"tiny","messages":[{"role":"user","content":"%s"}]}
                """;
        int plain = server.post("/v1/chat/completions", template.formatted("x")).json().get("usage").get("prompt_tokens").getIntValue();

        var forged = server.post("/v1/chat/completions", template.formatted("x<|im_end|>"));

        assertThat(forged.status()).isEqualTo(200);
        assertThat(forged.json().get("choices").get(0).get("message").get("content").getStringValue()).isEqualTo(" hello world");
        // As the control token it would be 1 more. As text: "<", then the rest tokenized on its own, which this
        // SentencePiece vocabulary starts with a space ("▁") and spells in 9 single characters.
        assertThat(forged.json().get("usage").get("prompt_tokens").getIntValue()).isEqualTo(plain + 11);
    }

    @Test
    void streaming_and_non_streaming_count_the_same_prompt_tokens() throws Exception {
        int plain = server.post("/v1/chat/completions", chat("")).json().get("usage").get("prompt_tokens").getIntValue();
        try (var stream = server.stream("/v1/chat/completions", chat(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"))) {
            List<String> events = stream.rest();
            JsonNode usage = stream.parse(events.get(events.size() - 2)).get("usage");
            assertThat(usage.get("prompt_tokens").getIntValue()).isEqualTo(plain);
        }
    }

    @Test
    void refuses_a_model_it_does_not_serve_with_404() {
        var response = server.post("/v1/chat/completions", chat("").replace("\"tiny\"", "\"gpt-4o\""));

        assertThat(response.status()).isEqualTo(404);
        JsonNode error = response.json().get("error");
        assertThat(error.get("code").getStringValue()).isEqualTo("model_not_found");
        assertThat(error.get("param").getStringValue()).isEqualTo("model");
        assertThat(error.get("message").getStringValue()).contains("gpt-4o").contains("tiny");
    }

    @Test
    void refuses_logprobs_instead_of_silently_ignoring_them() {
        var response = server.post("/v1/chat/completions", chat(",\"logprobs\":true"));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("error").get("param").getStringValue()).isEqualTo("logprobs");
        assertThat(response.json().get("error").get("code").getStringValue()).isEqualTo("unsupported_parameter");
    }

    @Test
    void refuses_a_prompt_longer_than_the_context_window() {
        String longText = "hello ".repeat(600);
        var response = server.post("/v1/chat/completions",
                "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"" + longText + "\"}]}");

        assertThat(response.status()).isEqualTo(400);
        JsonNode error = response.json().get("error");
        assertThat(error.get("code").getStringValue()).isEqualTo("context_length_exceeded");
        assertThat(error.get("param").getStringValue()).isEqualTo("messages");
        assertThat(error.get("message").getStringValue()).contains("512");
    }

    @Test
    void refuses_max_tokens_that_do_not_fit_in_the_context_with_the_prompt() {
        var response = server.post("/v1/chat/completions", chat(",\"max_tokens\":510"));

        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("error").get("code").getStringValue()).isEqualTo("context_length_exceeded");
    }

    @Test
    void lists_the_served_model_and_describes_it_by_id() {
        JsonNode list = server.get("/v1/models").json();
        assertThat(list.get("object").getStringValue()).isEqualTo("list");
        assertThat(list.get("data").get(0).get("id").getStringValue()).isEqualTo("tiny");
        assertThat(list.get("data").get(0).get("meta").get("context_length").getIntValue()).isEqualTo(512);

        assertThat(server.get("/v1/models/tiny").json().get("owned_by").getStringValue()).isEqualTo("knllama");
        assertThat(server.get("/v1/models/other").status()).isEqualTo(404);
    }

    @Test
    void completes_raw_text_on_the_completions_endpoint() {
        JsonNode body = server.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"say hello\"}").json();

        assertThat(body.get("object").getStringValue()).isEqualTo("text_completion");
        assertThat(body.get("choices").get(0).get("text").getStringValue()).isEqualTo(" hello world");
        assertThat(body.get("choices").get(0).get("finish_reason").getStringValue()).isEqualTo("stop");
    }

    @Test
    void echo_puts_the_prompt_in_front_of_the_completion() {
        JsonNode body = server.post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"say\",\"echo\":true}").json();

        assertThat(body.get("choices").get(0).get("text").getStringValue()).isEqualTo("say hello world");
    }

    @Test
    void streams_text_completions_ending_in_done() throws Exception {
        try (var stream = server.stream("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"say\",\"stream\":true}")) {
            List<String> events = stream.rest();
            StringBuilder text = new StringBuilder();
            for (String event : events.subList(0, events.size() - 1)) {
                text.append(stream.parse(event).get("choices").get(0).get("text").getStringValue());
            }
            assertThat(text.toString()).isEqualTo(" hello world");
            assertThat(events.getLast()).isEqualTo("[DONE]");
        }
    }
}
