package io.knllama.openai;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.request.RequestFields;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.argumentSet;

/**
 * Malformed and hostile OpenAI request bodies, each refused by the pure parser with the exact parameter and code
 * OpenAI's clients read. What only the running server can refuse (media types, sizes, routes, models, context)
 * is {@link HostileRequestsTest}'s.
 */
class OpenAiRequestsTest {

    private static final JsonMapper JSON = JsonMapper.createDefault();

    private enum Endpoint {
        CHAT(OpenAiRequests::chat), COMPLETION(OpenAiRequests::completion), EMBEDDING(OpenAiRequests::embedding);

        private final Function<JsonNode, ?> parser;

        Endpoint(Function<JsonNode, ?> parser) {
            this.parser = parser;
        }

        Object parse(byte[] body) {
            return parser.apply(RequestFields.parse(JSON, body));
        }
    }

    private static String chat(String fields) {
        return "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + fields + "}";
    }

    private static String message(String message) {
        return "{\"model\":\"tiny\",\"messages\":[" + message + "]}";
    }

    private static final class Cases {
        private final List<Arguments> all = new ArrayList<>();

        Cases add(Endpoint endpoint, String body, String param, String code) {
            return add(endpoint, body.getBytes(StandardCharsets.UTF_8), abbreviate(body), param, code);
        }

        Cases add(Endpoint endpoint, byte[] body, String name, String param, String code) {
            all.add(argumentSet(endpoint + " " + name, endpoint, body, param, code));
            return this;
        }
    }

    static List<Arguments> refused() {
        Cases cases = new Cases();
        Endpoint chat = Endpoint.CHAT;
        // Not JSON, or not a JSON object
        for (String body : List.of("", "{", "}", "{\"model\":}", "{'model':'tiny'}", "{\"model\":\"tiny\",}",
                "[".repeat(5000) + "]".repeat(5000), "{\"a\":" + "[".repeat(3000), "\u0000", "{\"model\":\"tiny\" \"messages\":[]}",
                "{\"model\":NaN}")) {
            cases.add(chat, body, null, "invalid_json");
        }
        for (String body : List.of("[]", "null", "1", "\"text\"")) {
            cases.add(chat, body, null, "invalid_type");
        }
        cases.add(chat, new byte[] {'{', '"', 'm', '"', ':', '"', (byte) 0xC3, 0x28, '"', '}'}, "utf-8 bad continuation", null, "invalid_json")
                .add(chat, new byte[] {(byte) 0xFF, (byte) 0xFE}, "utf-8 byte order mark of UTF-16", null, "invalid_json")
                .add(chat, new byte[] {'{', '"', (byte) 0xC0, (byte) 0x80, '"', ':', '1', '}'}, "utf-8 overlong NUL, read as NUL", "\u0000", "unknown_parameter")
                .add(chat, new byte[] {'"', (byte) 0x80, '"'}, "utf-8 lone continuation", null, "invalid_json");
        // Missing or empty
        cases.add(chat, "{}", "model", "missing_required_parameter")
                .add(chat, "{\"model\":\"tiny\"}", "messages", "missing_required_parameter")
                .add(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "missing_required_parameter")
                .add(chat, "{\"model\":null,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "missing_required_parameter")
                .add(chat, "{\"model\":\"tiny\",\"messages\":[]}", "messages", "invalid_value")
                .add(chat, message("{}"), "messages[0].role", "missing_required_parameter")
                .add(chat, message("{\"role\":\"user\"}"), "messages[0].content", "missing_required_parameter")
                .add(chat, message("{\"content\":\"hi\"}"), "messages[0].role", "missing_required_parameter")
                .add(chat, message("{\"role\":\"\",\"content\":\"hi\"}"), "messages[0].role", "invalid_value")
                .add(chat, message("{\"role\":\"wizard\",\"content\":\"hi\"}"), "messages[0].role", "invalid_value")
                .add(chat, message("{\"role\":\"user\",\"content\":[{\"text\":\"hi\"}]}"), "messages[0].content[0].type", "missing_required_parameter")
                .add(chat, chat(",\"stop\":[\"\"]"), "stop", "invalid_value")
                .add(chat, chat(",\"stop\":\"\""), "stop", "invalid_value");
        // Wrong types
        cases.add(chat, "{\"model\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "invalid_type")
                .add(chat, "{\"model\":[\"tiny\"],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "invalid_type")
                .add(chat, "{\"model\":\"tiny\",\"messages\":\"hi\"}", "messages", "invalid_type")
                .add(chat, "{\"model\":\"tiny\",\"messages\":{\"role\":\"user\"}}", "messages", "invalid_type");
        for (String field : List.of("\"temperature\":\"1\"", "\"temperature\":true", "\"top_p\":[]", "\"max_tokens\":\"10\"",
                "\"max_tokens\":1.5", "\"max_tokens\":true", "\"stream\":\"yes\"", "\"stream\":1", "\"stop\":5", "\"stop\":{}",
                "\"seed\":\"x\"", "\"seed\":1.5", "\"n\":\"1\"", "\"logit_bias\":[]", "\"response_format\":\"json\"",
                "\"stream_options\":true", "\"user\":5", "\"presence_penalty\":\"0\"", "\"frequency_penalty\":{}", "\"top_k\":1.5",
                "\"min_p\":\"0.1\"", "\"metadata\":\"x\"", "\"store\":\"yes\"", "\"max_completion_tokens\":[1]", "\"modalities\":\"text\"",
                "\"tool_choice\":5", "\"logprobs\":\"yes\"")) {
            cases.add(chat, chat("," + field), name(field), "invalid_type");
        }
        cases.add(chat, chat(",\"stop\":[1]"), "stop[0]", "invalid_type")
                .add(chat, chat(",\"logit_bias\":{\"x\":1}"), "logit_bias", "invalid_value")
                .add(chat, chat(",\"logit_bias\":{\"1\":\"a\"}"), "logit_bias.1", "invalid_type")
                .add(chat, chat(",\"response_format\":{\"type\":5}"), "response_format.type", "invalid_type")
                .add(chat, chat(",\"response_format\":{}"), "response_format.type", "missing_required_parameter");
        for (String[] message : new String[][] {{"1", ""}, {"\"hi\"", ""}, {"null", ""}, {"[]", ""},
                {"{\"role\":1,\"content\":\"hi\"}", ".role"}, {"{\"role\":\"user\",\"content\":5}", ".content"},
                {"{\"role\":\"user\",\"content\":{}}", ".content"}, {"{\"role\":\"user\",\"content\":[1]}", ".content[0]"},
                {"{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":5}]}", ".content[0].text"},
                {"{\"role\":\"user\",\"content\":[{\"type\":5}]}", ".content[0].type"},
                {"{\"role\":\"user\",\"content\":\"hi\",\"name\":5}", ".name"}}) {
            cases.add(chat, message(message[0]), "messages[0]" + message[1], "invalid_type");
        }
        // Out of range
        for (String field : List.of("\"temperature\":-1", "\"temperature\":2.5", "\"temperature\":1e308", "\"temperature\":1e999",
                "\"top_p\":1.5", "\"top_p\":-0.1", "\"max_tokens\":0", "\"max_tokens\":-5", "\"max_tokens\":1e20",
                "\"max_tokens\":9223372036854775808", "\"max_completion_tokens\":1000001", "\"presence_penalty\":5",
                "\"frequency_penalty\":-3", "\"top_k\":-1", "\"top_k\":100000", "\"min_p\":2", "\"repeat_penalty\":-1",
                "\"seed\":1e30", "\"seed\":9223372036854775808", "\"seed\":9223372036854775807.5", "\"seed\":-9223372036854775809", "\"top_logprobs\":50", "\"n\":0",
                "\"n\":129")) {
            cases.add(chat, chat("," + field), name(field), "invalid_value");
        }
        cases.add(chat, chat(",\"logit_bias\":{\"1\":1000}"), "logit_bias.1", "invalid_value")
                .add(chat, chat(",\"stop\":[" + "\"x\",".repeat(16) + "\"x\"]"), "stop", "invalid_value")
                .add(chat, chat(",\"stop\":\"" + "x".repeat(300) + "\""), "stop", "invalid_value")
                .add(chat, chat(",\"stream_options\":{\"include_usage\":true}"), "stream_options", "invalid_value");
        // Unknown parameters
        cases.add(chat, chat(",\"foo\":1"), "foo", "unknown_parameter")
                .add(chat, chat(",\"Model\":\"tiny\""), "Model", "unknown_parameter")
                .add(chat, chat(",\"stream\":true,\"stream_options\":{\"include_usage\":true,\"x\":1}"), "stream_options.x", "unknown_parameter")
                .add(chat, chat(",\"response_format\":{\"type\":\"text\",\"x\":1}"), "response_format.x", "unknown_parameter")
                .add(chat, message("{\"role\":\"user\",\"content\":\"hi\",\"mood\":\"happy\"}"), "messages[0].mood", "unknown_parameter")
                .add(chat, message("{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\",\"x\":1}]}"),
                        "messages[0].content[0].x", "unknown_parameter");
        // Known, but not supported here
        for (String field : List.of("\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]", "\"tool_choice\":\"required\"",
                "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}", "\"functions\":[{\"name\":\"f\"}]",
                "\"function_call\":\"auto\"", "\"logprobs\":true", "\"top_logprobs\":5", "\"n\":2", "\"audio\":{\"voice\":\"x\"}",
                "\"prediction\":{\"type\":\"content\"}", "\"web_search_options\":{}")) {
            cases.add(chat, chat("," + field), name(field), "unsupported_parameter");
        }
        cases.add(chat, chat(",\"modalities\":[\"text\",\"audio\"]"), "modalities[1]", "unsupported_parameter")
                .add(chat, chat(",\"response_format\":{\"type\":\"json_schema\"}"), "response_format.json_schema", "missing_required_parameter")
                .add(chat, chat(",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}"),
                        "response_format.json_schema.name", "missing_required_parameter")
                .add(chat, chat(",\"response_format\":{\"type\":\"xml\"}"), "response_format.type", "invalid_value");
        cases.add(chat, message("{\"role\":\"tool\",\"content\":\"42\",\"tool_call_id\":\"1\"}"), "messages[0].role", "unsupported_parameter")
                .add(chat, message("{\"role\":\"function\",\"content\":\"42\",\"name\":\"f\"}"), "messages[0].role", "unsupported_parameter")
                .add(chat, message("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"1\"}]}"),
                        "messages[0].tool_calls", "unsupported_parameter")
                .add(chat, message("{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x/y.png\"}}]}"),
                        "messages[0].content[0].type", "unsupported_parameter")
                .add(chat, message("{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\",\"input_audio\":{}}]}"),
                        "messages[0].content[0].type", "unsupported_parameter")
                .add(chat, message("{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}"), "messages[0].content[0].type", "invalid_value");
        // Legacy completions
        Endpoint text = Endpoint.COMPLETION;
        cases.add(text, "{\"model\":\"tiny\"}", "prompt", "missing_required_parameter")
                .add(text, "{\"model\":\"tiny\",\"prompt\":\"\"}", "prompt", "invalid_value")
                .add(text, "{\"model\":\"tiny\",\"prompt\":5}", "prompt", "invalid_type")
                .add(text, "{\"model\":\"tiny\",\"prompt\":[1,2,3]}", "prompt", "unsupported_parameter")
                .add(text, "{\"model\":\"tiny\",\"prompt\":[\"a\",\"b\"]}", "prompt", "unsupported_parameter")
                .add(text, "{\"model\":\"tiny\",\"prompt\":\"x\",\"suffix\":\"y\"}", "suffix", "unsupported_parameter")
                .add(text, "{\"model\":\"tiny\",\"prompt\":\"x\",\"best_of\":3}", "best_of", "unsupported_parameter")
                .add(text, "{\"model\":\"tiny\",\"prompt\":\"x\",\"logprobs\":2}", "logprobs", "unsupported_parameter")
                .add(text, "{\"model\":\"tiny\",\"prompt\":\"x\",\"echo\":\"yes\"}", "echo", "invalid_type")
                .add(text, "{\"model\":\"tiny\",\"prompt\":\"x\",\"messages\":[]}", "messages", "unknown_parameter")
                .add(text, "{\"model\":\"tiny\",\"prompt\":\"x\",\"max_tokens\":-1}", "max_tokens", "invalid_value")
                .add(text, "{\"model\":\"tiny\",\"prompt\":\"x\",\"seed\":9223372036854775808}", "seed", "invalid_value")
                .add(text, "{\"model\":\"tiny\",\"prompt\":\"x\",\"stream_options\":{\"include_usage\":true}}", "stream_options", "invalid_value");
        // Embeddings
        Endpoint embed = Endpoint.EMBEDDING;
        cases.add(embed, "{\"model\":\"tiny\"}", "input", "missing_required_parameter")
                .add(embed, "{\"model\":\"tiny\",\"input\":\"\"}", "input", "invalid_value")
                .add(embed, "{\"model\":\"tiny\",\"input\":[\"a\",\"\"]}", "input[1]", "invalid_value")
                .add(embed, "{\"model\":\"tiny\",\"input\":[]}", "input", "invalid_value")
                .add(embed, "{\"model\":\"tiny\",\"input\":[" + "\"x\",".repeat(256) + "\"x\"]}", "input", "invalid_value")
                .add(embed, "{\"model\":\"tiny\",\"input\":5}", "input", "invalid_type")
                .add(embed, "{\"model\":\"tiny\",\"input\":[\"a\",{}]}", "input[1]", "invalid_type")
                .add(embed, "{\"model\":\"tiny\",\"input\":[[1,2]]}", "input[0]", "unsupported_parameter")
                .add(embed, "{\"model\":\"tiny\",\"input\":[1,2]}", "input[0]", "unsupported_parameter")
                .add(embed, "{\"model\":\"tiny\",\"input\":\"x\",\"dimensions\":8}", "dimensions", "unsupported_parameter")
                .add(embed, "{\"model\":\"tiny\",\"input\":\"x\",\"encoding_format\":\"hex\"}", "encoding_format", "invalid_value");
        return cases.all;
    }

    @ParameterizedTest
    @MethodSource("refused")
    void a_malformed_or_unsupported_request_is_refused_naming_the_parameter_with_the_exact_code(Endpoint endpoint, byte[] body,
                                                                                             String param, String code) {
        ApiError error = catchThrowableOfType(ApiException.class, () -> endpoint.parse(body)).error();

        assertThat(error.status()).isEqualTo(400);
        assertThat(error.param()).isEqualTo(param);
        assertThat(error.code()).isEqualTo(code);
        assertThat(error.message()).isNotBlank().hasSizeLessThan(400);
    }

    /** Values an error quotes back, sent huge: the error names them cut short. */
    @ParameterizedTest
    @ValueSource(strings = {"{\"model\":\"tiny\",\"messages\":[{\"role\":\"%s\",\"content\":\"hi\"}]}",
            "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"%s\"}]}]}",
            "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"logit_bias\":{\"%s\":1}}",
            "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"%s\":1}"})
    void a_huge_value_is_quoted_cut_short_in_the_error(String template) {
        String body = template.formatted("x".repeat(40_000));

        ApiError error = catchThrowableOfType(ApiException.class, () -> Endpoint.CHAT.parse(body.getBytes(StandardCharsets.UTF_8)))
                .error();

        assertThat(error.message()).hasSizeLessThan(400);
        assertThat(error.param()).hasSizeLessThan(120);
    }

    private static String name(String field) {
        return field.substring(1, field.indexOf('"', 1));
    }

    private static String abbreviate(String text) {
        return text.length() > 80 ? text.substring(0, 80) + "…" : text;
    }
}
