package io.knllama.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Structured output through the HTTP APIs on a real (tiny) model: every schema, including those that used
 * to abort the process inside llama.cpp's converter, is answered or refused with a 400, the server keeps
 * serving, and what the model generates under a schema's grammar is valid against that schema.
 */
class ResponseFormatTest {

    private static final ObjectMapper JACKSON = new ObjectMapper();
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("knllama.model.context-size", 2048));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static String chat(String schema, int maxTokens) {
        return "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"json please\"}],\"max_tokens\":" + maxTokens
                + ",\"temperature\":1.5,\"seed\":7,\"logit_bias\":" + SHORT_ASCII + ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                + "{\"name\":\"x\",\"strict\":true,\"schema\":" + schema + "}}}";
    }

    /**
     * Steers the random-weight model towards short, ASCII answers (no byte tokens above 0x7F, closing quotes and
     * brackets favoured) so that most answers complete within the token limit; the grammar still decides what
     * may be written.
     */
    private static final String SHORT_ASCII = IntStream.rangeClosed(0x80, 0xFF)
            .mapToObj(b -> "\"" + TinyModel.tokenId("<0x%02X>".formatted(b)) + "\":-100")
            .collect(Collectors.joining(",", "{", ",\"" + TinyModel.tokenId("\"") + "\":10,\"" + TinyModel.tokenId("}")
                    + "\":5,\"" + TinyModel.tokenId("<0x5D>") + "\":5}"));

    /** The shapes from issue 11 that killed the JVM (uncaught C++ exceptions, or an abort during generation). */
    @ParameterizedTest
    @ValueSource(strings = {
        "{\"type\":\"object\",\"properties\":{\"a\":{\"title\":\"A\"}},\"required\":[\"a\"]}",
        "{\"type\":\"object\",\"properties\":{\"a\":{\"default\":1}}}",
        "{\"$defs\":{\"a/b\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a~1b\"}",
        "{\"enum\":[\"\\ud800\"]}",
        "{\"enum\":[\"a\\u0000b\"]}",
    })
    void schemas_that_aborted_llama_cpp_are_answered_and_the_server_keeps_serving(String schema) {
        var answer = server.post("/v1/chat/completions", chat(schema, 48));

        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        assertThat(server.post("/v1/chat/completions", "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"max_tokens\":4}").status()).isEqualTo(200);
    }

    @Test
    void a_reference_to_nothing_is_a_400_naming_the_schema() {
        var answer = server.post("/v1/chat/completions", chat("{\"$defs\":{\"a/b\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a/b\"}", 8));

        assertThat(answer.status()).isEqualTo(400);
        JsonNode error = answer.json().get("error");
        assertThat(error.get("param").getStringValue()).isEqualTo("response_format.json_schema.schema");
        assertThat(error.get("code").getStringValue()).isEqualTo("invalid_value");
        assertThat(error.get("message").getStringValue())
                .isEqualTo("Invalid JSON schema at '/$ref': '$ref' points to '#/$defs/a/b', which the schema does not define.");
    }

    @Test
    void ollama_format_with_a_schema_goes_through_the_same_converter() {
        var answer = server.post("/api/generate", "{\"model\":\"tiny\",\"prompt\":\"x\",\"stream\":false,\"options\":{\"num_predict\":16},"
                + "\"format\":{\"type\":\"object\",\"properties\":{\"a\":{\"title\":\"A\"}}}}");
        var refused = server.post("/api/generate", "{\"model\":\"tiny\",\"prompt\":\"x\",\"stream\":false,"
                + "\"format\":{\"type\":\"string\",\"pattern\":\"a+\"}}");

        assertThat(answer.status()).isEqualTo(200);
        assertThat(refused.status()).isEqualTo(400);
        assertThat(refused.json().get("error").getStringValue())
                .isEqualTo("Unsupported JSON schema at '/pattern': keyword 'pattern' is not supported in structured output.");
    }

    static List<String> realWorldSchemas() {
        return List.of("pydantic-person", "pydantic-any-field", "pydantic-recursive", "pydantic-v1-allof",
                "pydantic-discriminated", "zod-user", "openai-strict", "openai-ui-recursive", "misc-formats");
    }

    /**
     * The tiny model's weights are random, so under a grammar it wanders through the schema's language: a good
     * probe that the grammar admits only valid JSON. Answers cut off by the token limit are not complete JSON and
     * are reported as finish_reason "length"; every complete one must validate.
     */
    @ParameterizedTest
    @MethodSource("realWorldSchemas")
    void what_the_model_generates_under_a_schema_is_valid_against_it(String name) throws IOException {
        String schema = resource(name);
        var validator = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(JACKSON.readTree(schema));
        int complete = 0;
        for (int seed = 1; seed <= 8 && complete < 2; seed++) {
            var answer = server.post("/v1/chat/completions", chat(schema, 600).replace("\"seed\":7", "\"seed\":" + seed));
            assertThat(answer.status()).as(answer.body()).isEqualTo(200);
            JsonNode choice = answer.json().get("choices").get(0);
            String content = choice.get("message").get("content").getStringValue();
            if (choice.get("finish_reason").getStringValue().equals("stop")) {
                complete++;
                com.fasterxml.jackson.databind.JsonNode parsed;
                try {
                    parsed = JACKSON.readTree(content);
                } catch (IOException e) {
                    throw new AssertionError(name + " generated " + content + " (" + answer.body() + ")", e);
                }
                assertThat(validator.validate(parsed)).as("%s generated %s", name, content).isEmpty();
            }
        }
        assertThat(complete).as("complete answers for %s", name).isPositive();
    }

    @ParameterizedTest
    @ValueSource(strings = {"json_object", "text"})
    void the_simple_formats_generate(String type) throws IOException {
        String body = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":200,"
                + "\"response_format\":{\"type\":\"" + type + "\"}}";

        var answer = server.post("/v1/chat/completions", body);

        assertThat(answer.status()).isEqualTo(200);
        JsonNode choice = answer.json().get("choices").get(0);
        if (type.equals("json_object") && choice.get("finish_reason").getStringValue().equals("stop")) {
            assertThat(JACKSON.readTree(choice.get("message").get("content").getStringValue()).isObject()).isTrue();
        }
    }

    private static String resource(String name) {
        try (InputStream in = ResponseFormatTest.class.getResourceAsStream("/io/knllama/grammar/schemas/" + name + ".json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
