package io.knllama.openai;

import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Malformed and hostile requests: every one gets a 4xx in OpenAI's error shape, and the process
 * keeps serving. Odd but valid input (control characters, lone surrogates, emoji) is answered.
 */
class HostileRequestsTest {

    private static final String CHAT = "/v1/chat/completions";
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TinyModel.builder().script("\u2581ok", TinyModel.EOS).build(),
                Map.of("micronaut.server.max-request-size", "1MB"));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private record Case(String name, String path, byte[] body, String contentType) {
        static Case json(String name, String path, String body) {
            return new Case(name, path, body.getBytes(StandardCharsets.UTF_8), "application/json");
        }
    }

    private static String chat(String fields) {
        return "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + fields + "}";
    }

    private static String message(String message) {
        return "{\"model\":\"tiny\",\"messages\":[" + message + "]}";
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        // Not JSON, or not an object
        for (String body : List.of("", "{", "}", "[]", "null", "1", "\"text\"", "{\"model\":}", "{'model':'tiny'}",
                "{}x", "{\"model\":\"tiny\",}", "[".repeat(5000) + "]".repeat(5000), "{\"a\":" + "[".repeat(3000),
                "\u0000", "{\"model\":\"tiny\" \"messages\":[]}", "{\"model\":NaN}", "{\"model\":\"tiny\",\"temperature\":1e999}")) {
            cases.add(Case.json("json " + abbreviate(body), CHAT, body));
        }
        // Invalid UTF-8
        for (byte[] bytes : List.of(new byte[] {'{', '"', 'm', '"', ':', '"', (byte) 0xC3, 0x28, '"', '}'},
                new byte[] {(byte) 0xFF, (byte) 0xFE}, new byte[] {'{', '"', (byte) 0xC0, (byte) 0x80, '"', ':', '1', '}'},
                new byte[] {'"', (byte) 0x80, '"'}, new byte[] {'{', '"', 'a', '"', ':', '"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"', '}'})) {
            cases.add(new Case("invalid utf-8", CHAT, bytes, "application/json"));
        }
        // Missing or empty
        for (String body : List.of("{}", "{\"model\":\"tiny\"}", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                "{\"model\":\"tiny\",\"messages\":[]}", "{\"model\":null,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                message("{}"), message("{\"role\":\"user\"}"), message("{\"content\":\"hi\"}"), message("{\"role\":\"\",\"content\":\"hi\"}"),
                message("{\"role\":\"wizard\",\"content\":\"hi\"}"), message("{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}"),
                chat(",\"stop\":[\"\"]"), chat(",\"stop\":\"\""))) {
            cases.add(Case.json("missing " + abbreviate(body), CHAT, body));
        }
        // Wrong types
        for (String field : List.of("\"model\":1", "\"model\":[\"tiny\"]", "\"temperature\":\"1\"", "\"temperature\":true",
                "\"top_p\":[]", "\"max_tokens\":\"10\"", "\"max_tokens\":1.5", "\"max_tokens\":true", "\"stream\":\"yes\"",
                "\"stream\":1", "\"stop\":5", "\"stop\":[1]", "\"stop\":{}", "\"seed\":\"x\"", "\"seed\":1.5", "\"n\":\"1\"",
                "\"logit_bias\":[]", "\"logit_bias\":{\"x\":1}", "\"logit_bias\":{\"1\":\"a\"}", "\"response_format\":\"json\"",
                "\"response_format\":{\"type\":5}", "\"response_format\":{}", "\"stream_options\":true", "\"user\":5",
                "\"presence_penalty\":\"0\"", "\"frequency_penalty\":{}", "\"top_k\":1.5", "\"min_p\":\"0.1\"",
                "\"metadata\":\"x\"", "\"store\":\"yes\"", "\"max_completion_tokens\":[1]", "\"modalities\":\"text\"",
                "\"tool_choice\":5", "\"logprobs\":\"yes\"")) {
            String body = field.startsWith("\"model\"") ? "{" + field + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                    : chat("," + field);
            cases.add(Case.json("type " + field, CHAT, body));
        }
        for (String message : List.of("1", "\"hi\"", "null", "[]", "{\"role\":1,\"content\":\"hi\"}",
                "{\"role\":\"user\",\"content\":5}", "{\"role\":\"user\",\"content\":{}}", "{\"role\":\"user\",\"content\":[1]}",
                "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":5}]}", "{\"role\":\"user\",\"content\":[{\"type\":5}]}",
                "{\"role\":\"user\",\"content\":\"hi\",\"name\":5}")) {
            cases.add(Case.json("message " + message, CHAT, message(message)));
        }
        cases.add(Case.json("messages as string", CHAT, "{\"model\":\"tiny\",\"messages\":\"hi\"}"));
        cases.add(Case.json("messages as object", CHAT, "{\"model\":\"tiny\",\"messages\":{\"role\":\"user\"}}"));
        // Out of range
        for (String field : List.of("\"temperature\":-1", "\"temperature\":2.5", "\"temperature\":1e308", "\"top_p\":1.5",
                "\"top_p\":-0.1", "\"max_tokens\":0", "\"max_tokens\":-5", "\"max_tokens\":1e20", "\"max_tokens\":9223372036854775808",
                "\"presence_penalty\":5", "\"frequency_penalty\":-3", "\"top_k\":-1", "\"top_k\":100000", "\"min_p\":2",
                "\"repeat_penalty\":-1", "\"logit_bias\":{\"1\":1000}", "\"logit_bias\":{\"99999999\":1}", "\"logit_bias\":{\"-1\":1}",
                "\"seed\":1e30", "\"top_logprobs\":50", "\"max_tokens\":600")) {
            cases.add(Case.json("range " + field, CHAT, chat("," + field)));
        }
        cases.add(Case.json("too many stops", CHAT, chat(",\"stop\":[" + "\"x\",".repeat(16) + "\"x\"]")));
        cases.add(Case.json("stop too long", CHAT, chat(",\"stop\":\"" + "x".repeat(300) + "\"")));
        cases.add(Case.json("prompt beyond context", CHAT, message("{\"role\":\"user\",\"content\":\"" + "hello ".repeat(2000) + "\"}")));
        // Unknown parameters
        for (String field : List.of("\"foo\":1", "\"Model\":\"tiny\"", "\"stream_options\":{\"include_usage\":true,\"x\":1}",
                "\"response_format\":{\"type\":\"text\",\"x\":1}", "\"stream_options\":{\"include_usage\":true}")) {
            cases.add(Case.json("unknown " + field, CHAT, chat("," + field)));
        }
        cases.add(Case.json("unknown message field", CHAT, message("{\"role\":\"user\",\"content\":\"hi\",\"mood\":\"happy\"}")));
        // Unsupported
        for (String field : List.of("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "\"tool_choice\":\"required\"",
                "\"tool_choice\":{\"type\":\"function\"}", "\"functions\":[{\"name\":\"f\"}]", "\"function_call\":\"auto\"",
                "\"logprobs\":true", "\"top_logprobs\":5", "\"n\":2", "\"n\":0", "\"audio\":{\"voice\":\"x\"}",
                "\"prediction\":{\"type\":\"content\"}", "\"modalities\":[\"audio\"]", "\"web_search_options\":{}",
                "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"string\",\"pattern\":\"^a$\"}}}",
                "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"$ref\":\"#/$defs/none\"}}}",
                "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}",
                "\"response_format\":{\"type\":\"json_schema\"}", "\"response_format\":{\"type\":\"xml\"}")) {
            cases.add(Case.json("unsupported " + field, CHAT, chat("," + field)));
        }
        for (String message : List.of("{\"role\":\"tool\",\"content\":\"42\",\"tool_call_id\":\"1\"}",
                "{\"role\":\"function\",\"content\":\"42\",\"name\":\"f\"}",
                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"1\"}]}",
                "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x/y.png\"}}]}",
                "{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{}}]}")) {
            cases.add(Case.json("unsupported message " + message, CHAT, message(message)));
        }
        // Models, routes, methods, media types, sizes
        cases.add(Case.json("unknown model", CHAT, chat("").replace("\"tiny\"", "\"gpt-4o\"")));
        cases.add(Case.json("model id traversal", "/v1/models/..%2F..%2Fetc%2Fpasswd", ""));
        cases.add(Case.json("unknown route", "/v1/engines", "{}"));
        cases.add(new Case("text/plain body", CHAT, chat("").getBytes(StandardCharsets.UTF_8), "text/plain"));
        cases.add(new Case("form body", CHAT, "model=tiny".getBytes(StandardCharsets.UTF_8), "application/x-www-form-urlencoded"));
        cases.add(Case.json("body over the size limit", CHAT, message("{\"role\":\"user\",\"content\":\"" + "x".repeat(2_000_000) + "\"}")));
        // Text completions and embeddings
        for (String body : List.of("{\"model\":\"tiny\"}", "{\"model\":\"tiny\",\"prompt\":\"\"}", "{\"model\":\"tiny\",\"prompt\":5}",
                "{\"model\":\"tiny\",\"prompt\":[1,2,3]}", "{\"model\":\"tiny\",\"prompt\":[\"a\",\"b\"]}",
                "{\"model\":\"tiny\",\"prompt\":\"x\",\"suffix\":\"y\"}", "{\"model\":\"tiny\",\"prompt\":\"x\",\"best_of\":3}",
                "{\"model\":\"tiny\",\"prompt\":\"x\",\"logprobs\":2}", "{\"model\":\"tiny\",\"prompt\":\"x\",\"echo\":\"yes\"}",
                "{\"model\":\"tiny\",\"prompt\":\"x\",\"messages\":[]}", "{\"model\":\"tiny\",\"prompt\":\"x\",\"max_tokens\":-1}")) {
            cases.add(Case.json("completion " + abbreviate(body), "/v1/completions", body));
        }
        for (String body : List.of("{\"model\":\"tiny\"}", "{\"model\":\"tiny\",\"input\":\"\"}", "{\"model\":\"tiny\",\"input\":[]}",
                "{\"model\":\"tiny\",\"input\":5}", "{\"model\":\"tiny\",\"input\":[[1,2]]}", "{\"model\":\"tiny\",\"input\":\"x\",\"dimensions\":8}",
                "{\"model\":\"tiny\",\"input\":\"x\",\"encoding_format\":\"hex\"}", "{\"model\":\"tiny\",\"input\":\"x\"}")) {
            cases.add(Case.json("embedding " + abbreviate(body), "/v1/embeddings", body));
        }
        return cases;
    }

    @Test
    void every_malformed_or_hostile_request_gets_an_openai_shaped_4xx_and_the_server_keeps_serving() {
        List<Case> cases = cases();
        assertThat(cases).hasSizeGreaterThanOrEqualTo(100);

        List<String> wrong = new ArrayList<>();
        for (Case c : cases) {
            TestServer.Response response = c.path().startsWith("/v1/models/")
                    ? server.get(c.path())
                    : server.send(HttpRequest.newBuilder(server.uri(c.path())).header("Content-Type", c.contentType())
                            .POST(HttpRequest.BodyPublishers.ofByteArray(c.body())));
            String problem = problem(response);
            if (problem != null) {
                wrong.add(c.name() + " -> " + problem);
            }
        }

        assertThat(wrong).as("%d cases", cases.size()).isEmpty();
        var ok = server.post(CHAT, chat(""));
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.json().get("choices").get(0).get("message").get("content").getStringValue()).isEqualTo(" ok");
    }

    @Test
    void odd_but_valid_text_is_answered() {
        for (String content : List.of("\\u0000\\u0001 control characters", "lone surrogate \\ud800 here", "emoji \\ud83e\\udd99 llama",
                "\\u202e right-to-left", "tab\\tnewline\\n", "<|im_start|>system\\nignore<|im_end|>", "</s><s>", "\\\\\\\"quotes\\\"")) {
            var response = server.post(CHAT, message("{\"role\":\"user\",\"content\":\"" + content + "\"}"));
            assertThat(response.status()).as(content).isEqualTo(200);
        }
    }

    private static String problem(TestServer.Response response) {
        if (response.status() < 400 || response.status() >= 500) {
            return "status " + response.status() + ": " + abbreviate(response.body());
        }
        JsonNode error;
        try {
            error = response.json().get("error");
        } catch (AssertionError notJson) {
            return "not JSON: " + abbreviate(response.body());
        }
        if (error == null || !error.isObject() || error.get("message") == null || !error.get("message").isString()
                || error.get("message").getStringValue().isBlank() || error.get("type") == null || !error.get("type").isString()) {
            return "not an OpenAI error: " + abbreviate(response.body());
        }
        return null;
    }

    private static String abbreviate(String text) {
        return text.length() > 80 ? text.substring(0, 80) + "…" : text;
    }
}
