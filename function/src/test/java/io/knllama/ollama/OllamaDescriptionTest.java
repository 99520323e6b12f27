package io.knllama.ollama;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.request.Parameters;
import io.knllama.request.RequestFields;
import io.knllama.testing.ApiDescriptions;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * One description of each Ollama request: the field lists in {@link OllamaRequests} are what the parser reads,
 * and the OpenAPI description and function/OLLAMA.md are held to them here.
 */
class OllamaDescriptionTest {

    private static final JsonMapper JSON = JsonMapper.createDefault();
    private static final Path OLLAMA_MD = Path.of("OLLAMA.md");

    private record Described(String schema, Parameters parameters, String route, String validBody,
                             Function<JsonNode, ?> parser, String pathPrefix) {
        @Override
        public String toString() {
            return schema;
        }
    }

    static Stream<Described> described() {
        return Stream.of(
                new Described("OllamaChatRequest", OllamaRequests.CHAT, "/api/chat",
                        "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]%s}",
                        json -> OllamaRequests.chat(json, 512), ""),
                new Described("OllamaMessage", OllamaRequests.MESSAGE, null,
                        "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"%s}]}",
                        json -> OllamaRequests.chat(json, 512), "messages[0]."),
                new Described("OllamaGenerateRequest", OllamaRequests.GENERATE, "/api/generate",
                        "{\"model\":\"tiny\",\"prompt\":\"hi\"%s}", json -> OllamaRequests.generate(json, 512), ""),
                new Described("OllamaEmbedRequest", OllamaRequests.EMBED, "/api/embed",
                        "{\"model\":\"tiny\",\"input\":\"hi\"%s}", json -> OllamaRequests.embed(json, 512), ""),
                new Described("OllamaShowRequest", OllamaRequests.SHOW, null, "{\"model\":\"tiny\"%s}", OllamaRequests::show, ""),
                new Described("OllamaOptions", OllamaRequests.OPTIONS, null,
                        "{\"model\":\"tiny\",\"prompt\":\"hi\",\"options\":{\"temperature\":0%s}}",
                        json -> OllamaRequests.generate(json, 512), "options."));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("described")
    void the_openapi_description_lists_exactly_the_fields_the_parser_reads(Described described) {
        assertThat(ApiDescriptions.properties(described.schema())).containsExactlyInAnyOrderElementsOf(described.parameters().all());
    }

    static Stream<Arguments> fields() {
        return described().flatMap(described -> ApiDescriptions.properties(described.schema()).stream()
                .map(name -> Arguments.of(described, name)));
    }

    /** A listed field the parser never reads would pass with any value: each one, of the wrong type, is refused naming it. */
    @ParameterizedTest(name = "{0}.{1}")
    @MethodSource("fields")
    void every_described_field_is_read_by_the_parser_which_refuses_a_wrong_type_naming_it(Described described, String name) {
        String wrong = ApiDescriptions.type(described.schema(), name).equals("boolean") ? "7" : "true";
        // Appended last, it replaces the valid body's own value where it has one (model, role, temperature, ...).
        String body = described.validBody().formatted(",\"" + name + "\":" + wrong);

        ApiError error = catchThrowableOfType(ApiException.class,
                () -> described.parser().apply(RequestFields.parse(JSON, body.getBytes(StandardCharsets.UTF_8)))).error();

        assertThat(error.param()).isEqualTo(described.pathPrefix() + name);
        assertThat(error.code()).isIn(described.parameters().refused().contains(name)
                ? Set.of("invalid_type", "unsupported_parameter") : Set.of("invalid_type"));
    }

    static Stream<Described> routes() {
        return described().filter(described -> described.route() != null);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void ollama_md_names_every_field_the_route_honours_and_no_other(Described described) {
        assertThat(ApiDescriptions.namesInRow(OLLAMA_MD, "| `POST " + described.route() + "` |"))
                .containsExactlyInAnyOrderElementsOf(described.parameters().honoured());
    }

    @Test
    void ollama_md_names_every_option_and_no_other() {
        assertThat(ApiDescriptions.namesInParagraph(OLLAMA_MD, "**Options**"))
                .containsExactlyInAnyOrderElementsOf(OllamaRequests.OPTIONS.all());
    }
}
