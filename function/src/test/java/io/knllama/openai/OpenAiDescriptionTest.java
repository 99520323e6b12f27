package io.knllama.openai;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.request.Parameters;
import io.knllama.request.RequestFields;
import io.knllama.testing.ApiDescriptions;
import io.micronaut.json.JsonMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * One description of each OpenAI request: the parameter lists in {@link OpenAiRequests} are what the parser
 * accepts, and the OpenAPI description and the README's route table are held to them here.
 */
class OpenAiDescriptionTest {

    private static final JsonMapper JSON = JsonMapper.createDefault();
    private static final Path README = Path.of("../README.md");

    /** A schema of the OpenAPI description, its parameter list, and a valid body to put one wrong parameter in. */
    private record Described(String schema, Parameters parameters, String route, String validBody, Consumer<String> parser,
                             String pathPrefix) {
        @Override
        public String toString() {
            return schema;
        }
    }

    private static void parse(String body, java.util.function.Function<io.micronaut.json.tree.JsonNode, ?> parser) {
        parser.apply(RequestFields.parse(JSON, body.getBytes(StandardCharsets.UTF_8)));
    }

    static Stream<Described> described() {
        return Stream.of(
                new Described("ChatCompletionRequest", OpenAiRequests.CHAT, "/v1/chat/completions",
                        "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]%s}",
                        body -> parse(body, OpenAiRequests::chat), ""),
                new Described("ChatMessage", OpenAiRequests.MESSAGE, null,
                        "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"%s}]}",
                        body -> parse(body, OpenAiRequests::chat), "messages[0]."),
                new Described("CompletionRequest", OpenAiRequests.COMPLETION, "/v1/completions",
                        "{\"model\":\"tiny\",\"prompt\":\"hi\"%s}", body -> parse(body, OpenAiRequests::completion), ""),
                new Described("EmbeddingRequest", OpenAiRequests.EMBEDDING, "/v1/embeddings",
                        "{\"model\":\"tiny\",\"input\":\"hi\"%s}", body -> parse(body, OpenAiRequests::embedding), ""));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("described")
    void the_openapi_description_lists_exactly_the_parameters_the_parser_accepts(Described described) {
        assertThat(ApiDescriptions.properties(described.schema())).containsExactlyInAnyOrderElementsOf(described.parameters().all());
    }

    static Stream<Arguments> parameters() {
        return described().flatMap(described -> ApiDescriptions.properties(described.schema()).stream()
                .map(name -> Arguments.of(described, name)));
    }

    /**
     * A parameter the parser lists but never reads would be accepted with any value: each one, sent with a value
     * of the wrong type, must be refused naming it.
     */
    @ParameterizedTest(name = "{0}.{1}")
    @MethodSource("parameters")
    void every_described_parameter_is_read_by_the_parser_which_refuses_a_wrong_type_naming_it(Described described, String name) {
        String wrong = ApiDescriptions.type(described.schema(), name).equals("boolean") ? "7" : "true";
        // Appended last, it replaces the valid body's own value where it has one (model, messages, role, ...).
        String body = described.validBody().formatted(",\"" + name + "\":" + wrong);

        ApiError error = catchThrowableOfType(ApiException.class, () -> described.parser().accept(body)).error();

        assertThat(error.param()).isEqualTo(described.pathPrefix() + name);
        assertThat(error.code()).isIn(described.parameters().refused().contains(name)
                ? Set.of("invalid_type", "unsupported_parameter") : Set.of("invalid_type"));
    }

    static Stream<Described> routes() {
        return described().filter(described -> described.route() != null);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("routes")
    void the_readme_names_every_parameter_the_route_honours_and_no_other(Described described) {
        Set<String> named = new HashSet<>(ApiDescriptions.namesInRow(README, "| `POST " + described.route() + "` |"));

        assertThat(named).containsExactlyInAnyOrderElementsOf(described.parameters().honoured());
    }
}
