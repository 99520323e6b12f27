package io.knllama.ollama;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.request.RequestFields;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.argumentSet;

/**
 * Ollama request bodies the pure parser refuses, each with the exact field and code (Ollama's wire shape carries
 * only the message, so these are what the message is built from), and those it accepts as Ollama does.
 */
class OllamaRequestsTest {

    private static final JsonMapper JSON = JsonMapper.createDefault();
    private static final int CONTEXT = 512;

    private enum Route {
        CHAT(json -> OllamaRequests.chat(json, CONTEXT)), GENERATE(json -> OllamaRequests.generate(json, CONTEXT)),
        EMBED(json -> OllamaRequests.embed(json, CONTEXT)), SHOW(OllamaRequests::show);

        private final Function<JsonNode, ?> parser;

        Route(Function<JsonNode, ?> parser) {
            this.parser = parser;
        }

        Object parse(String body) {
            return parser.apply(RequestFields.parse(JSON, body.getBytes(StandardCharsets.UTF_8)));
        }
    }

    private static String chat(String fields) {
        return "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" + fields + "}";
    }

    private static String message(String fields) {
        return "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"" + fields + "}]}";
    }

    private static String generate(String fields) {
        return "{\"model\":\"tiny\",\"prompt\":\"hi\"" + fields + "}";
    }

    private static String embed(String fields) {
        return "{\"model\":\"tiny\"" + fields + "}";
    }

    static List<Arguments> refused() {
        List<Arguments> cases = new ArrayList<>();
        Object[][] table = {
            {Route.CHAT, "{\"model\":", null, "invalid_json"},
            {Route.CHAT, "[1,2]", null, "invalid_type"},
            {Route.CHAT, "{\"messages\":[]}", "model", "missing_required_parameter"},
            {Route.CHAT, chat("").replace("\"tiny\"", "5"), "model", "invalid_type"},
            {Route.CHAT, "{\"model\":\"tiny\",\"messages\":\"hi\"}", "messages", "invalid_type"},
            {Route.CHAT, "{\"model\":\"tiny\",\"messages\":[5]}", "messages[0]", "invalid_type"},
            {Route.CHAT, "{\"model\":\"tiny\",\"messages\":[{\"content\":\"hi\"}]}", "messages[0].role", "missing_required_parameter"},
            {Route.CHAT, "{\"model\":\"tiny\",\"messages\":[{\"role\":\"wizard\",\"content\":\"hi\"}]}", "messages[0].role", "invalid_value"},
            {Route.CHAT, "{\"model\":\"tiny\",\"messages\":[{\"role\":\"developer\",\"content\":\"hi\"}]}", "messages[0].role", "invalid_value"},
            {Route.CHAT, "{\"model\":\"tiny\",\"messages\":[{\"role\":\"tool\",\"content\":\"42\"}]}", "messages[0].role", "unsupported_parameter"},
            {Route.CHAT, message(",\"images\":[\"aGk=\"]"), "messages[0].images", "unsupported_parameter"},
            {Route.CHAT, message(",\"tool_calls\":[{}]"), "messages[0].tool_calls", "unsupported_parameter"},
            {Route.CHAT, message(",\"content\":5"), "messages[0].content", "invalid_type"},
            {Route.CHAT, chat(",\"think\":true"), "think", "unsupported_parameter"},
            {Route.CHAT, chat(",\"think\":\"high\""), "think", "unsupported_parameter"},
            {Route.CHAT, chat(",\"think\":5"), "think", "invalid_type"},
            {Route.CHAT, chat(",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"), "tools", "unsupported_parameter"},
            {Route.CHAT, chat(",\"tools\":\"f\""), "tools", "invalid_type"},
            {Route.CHAT, chat(",\"logprobs\":true"), "logprobs", "unsupported_parameter"},
            {Route.CHAT, chat(",\"top_logprobs\":3"), "top_logprobs", "unsupported_parameter"},
            {Route.CHAT, chat(",\"template\":\"{{ .Prompt }}\""), "template", "unsupported_parameter"},
            {Route.CHAT, chat(",\"stream\":\"yes\""), "stream", "invalid_type"},
            {Route.CHAT, chat(",\"truncate\":\"yes\""), "truncate", "invalid_type"},
            {Route.CHAT, chat(",\"keep_alive\":\"forever\""), "keep_alive", "invalid_value"},
            {Route.CHAT, chat(",\"keep_alive\":\"5d\""), "keep_alive", "invalid_value"},
            {Route.CHAT, chat(",\"keep_alive\":true"), "keep_alive", "invalid_type"},
            {Route.CHAT, chat(",\"keep_alive\":\"" + "0".repeat(100_000) + "x\""), "keep_alive", "invalid_value"},
            {Route.CHAT, chat(",\"format\":\"yaml\""), "format", "invalid_value"},
            {Route.CHAT, chat(",\"format\":5"), "format", "invalid_type"},
            {Route.CHAT, chat(",\"options\":\"fast\""), "options", "invalid_type"},
            {Route.CHAT, chat(",\"options\":{\"temprature\":0.5}"), "options.temprature", "unknown_parameter"},
            {Route.CHAT, chat(",\"options\":{\"num_ctx\":8192}"), "options.num_ctx", "unsupported_parameter"},
            {Route.CHAT, chat(",\"options\":{\"num_ctx\":0}"), "options.num_ctx", "invalid_value"},
            {Route.CHAT, chat(",\"options\":{\"mirostat\":2}"), "options.mirostat", "unsupported_parameter"},
            {Route.CHAT, chat(",\"options\":{\"typical_p\":0.5}"), "options.typical_p", "unsupported_parameter"},
            {Route.CHAT, chat(",\"options\":{\"penalize_newline\":true}"), "options.penalize_newline", "unsupported_parameter"},
            {Route.CHAT, chat(",\"options\":{\"num_predict\":0}"), "options.num_predict", "invalid_value"},
            {Route.CHAT, chat(",\"options\":{\"num_predict\":-3}"), "options.num_predict", "invalid_value"},
            {Route.CHAT, chat(",\"options\":{\"temperature\":\"hot\"}"), "options.temperature", "invalid_type"},
            {Route.CHAT, chat(",\"options\":{\"temperature\":11}"), "options.temperature", "invalid_value"},
            {Route.CHAT, chat(",\"options\":{\"top_k\":-1}"), "options.top_k", "invalid_value"},
            {Route.CHAT, chat(",\"options\":{\"seed\":9223372036854775808}"), "options.seed", "invalid_value"},
            {Route.CHAT, chat(",\"options\":{\"seed\":1.5}"), "options.seed", "invalid_type"},
            {Route.CHAT, chat(",\"options\":{\"stop\":[\"\"]}"), "options.stop", "invalid_value"},
            {Route.CHAT, chat(",\"options\":{\"stop\":5}"), "options.stop", "invalid_type"},
            {Route.CHAT, chat(",\"options\":{\"num_gpu\":\"all\"}"), "options.num_gpu", "invalid_type"},
            {Route.CHAT, chat(",\"options\":{\"use_mmap\":1}"), "options.use_mmap", "invalid_type"},
            {Route.GENERATE, generate(",\"prompt\":5"), "prompt", "invalid_type"},
            {Route.GENERATE, generate(",\"system\":5"), "system", "invalid_type"},
            {Route.GENERATE, generate(",\"raw\":\"yes\""), "raw", "invalid_type"},
            {Route.GENERATE, generate(",\"raw\":true,\"system\":\"be brief\""), "system", "unsupported_parameter"},
            {Route.GENERATE, generate(",\"context\":[1,2,3]"), "context", "unsupported_parameter"},
            {Route.GENERATE, generate(",\"suffix\":\"end\""), "suffix", "unsupported_parameter"},
            {Route.GENERATE, generate(",\"template\":\"{{ .Prompt }}\""), "template", "unsupported_parameter"},
            {Route.GENERATE, generate(",\"images\":[\"aGk=\"]"), "images", "unsupported_parameter"},
            {Route.GENERATE, generate(",\"think\":true"), "think", "unsupported_parameter"},
            {Route.GENERATE, generate(",\"options\":{\"seed\":-9223372036854775809}"), "options.seed", "invalid_value"},
            {Route.EMBED, embed(""), "input", "missing_required_parameter"},
            {Route.EMBED, embed(",\"input\":5"), "input", "invalid_type"},
            {Route.EMBED, embed(",\"input\":[1,2]"), "input[0]", "unsupported_parameter"},
            {Route.EMBED, embed(",\"input\":[\"a\",\"\"]"), "input[1]", "invalid_value"},
            {Route.EMBED, embed(",\"input\":\"\""), "input", "invalid_value"},
            {Route.EMBED, embed(",\"input\":[" + "\"x\",".repeat(256) + "\"x\"]"), "input", "invalid_value"},
            {Route.EMBED, embed(",\"input\":\"x\",\"dimensions\":8"), "dimensions", "unsupported_parameter"},
            {Route.EMBED, embed(",\"input\":\"x\",\"options\":{\"num_ctx\":8192}"), "options.num_ctx", "unsupported_parameter"},
            {Route.EMBED, embed(",\"input\":\"x\",\"keep_alive\":[]"), "keep_alive", "invalid_type"},
            {Route.SHOW, "{}", "model", "missing_required_parameter"},
            {Route.SHOW, "{\"model\":5}", "model", "invalid_type"},
            {Route.SHOW, "{\"model\":\"tiny\",\"name\":5}", "name", "invalid_type"},
        };
        for (Object[] row : table) {
            String body = (String) row[1];
            cases.add(argumentSet(row[0] + " " + (body.length() > 80 ? body.substring(0, 80) + "…" : body), row));
        }
        return cases;
    }

    @ParameterizedTest
    @MethodSource("refused")
    void a_request_that_cannot_be_served_is_refused_naming_the_field_with_the_exact_code(Route route, String body, String param,
                                                                                      String code) {
        ApiError error = catchThrowableOfType(ApiException.class, () -> route.parse(body)).error();

        assertThat(error.status()).isEqualTo(400);
        assertThat(error.param()).isEqualTo(param);
        assertThat(error.code()).isEqualTo(code);
        assertThat(error.message()).isNotBlank().hasSizeLessThan(400);
    }

    @Test
    void fields_clients_send_that_change_nothing_here_are_accepted_as_ollama_accepts_them() {
        var request = (OllamaRequests.Generation) Route.CHAT.parse(chat(",\"stream\":false,\"keep_alive\":\"5m\",\"think\":false,"
                + "\"tools\":[],\"useTools\":true,\"format\":\"\",\"truncate\":true,\"shift\":false,\"options\":{\"num_ctx\":512,"
                + "\"num_gpu\":0,\"num_thread\":2,\"use_mmap\":true,\"typical_p\":1.0,\"mirostat\":0,\"repeat_last_n\":64,"
                + "\"seed\":-1},\"template\":null,\"logprobs\":false,\"top_logprobs\":0"));

        assertThat(request.generation()).isNotNull();
        assertThat(request.generation().sampling().seed()).as("a negative seed is random").isNull();
        assertThat(request.stream()).isFalse();
        assertThat(request.unload()).isFalse();
    }

    @Test
    void keep_alive_zero_in_any_spelling_unloads_and_anything_else_does_not() {
        for (String zero : List.of("0", "\"0\"", "\"0s\"", "\"0m\"", "\"0h0m0s\"", "0.0", "\"" + "0m".repeat(3000) + "\"")) {
            assertThat(((OllamaRequests.Generation) Route.GENERATE.parse(embed(",\"keep_alive\":" + zero))).unload()).as(zero).isTrue();
        }
        for (String kept : List.of("-1", "300", "\"5m\"", "\"-1s\"", "\"" + "0m".repeat(3000) + "1s\"", "\"0.001s\"")) {
            assertThat(((OllamaRequests.Generation) Route.GENERATE.parse(embed(",\"keep_alive\":" + kept))).unload()).as(kept).isFalse();
        }
    }
}
