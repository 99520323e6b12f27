package io.knllama.page;

import io.knllama.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The chat page, the OpenAPI description and its views, served next to the APIs without shadowing them. */
class PageAndApiDocsTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void the_chat_page_is_served_at_the_root_with_its_script_and_style() {
        var page = server.get("/");
        var script = server.get("/chat/chat.js");
        var style = server.get("/chat/chat.css");

        assertThat(page.status()).isEqualTo(200);
        assertThat(page.header("content-type")).startsWith("text/html");
        assertThat(page.body()).contains("id=\"prompt\"").contains("src=\"chat/chat.js\"");
        assertThat(script.status()).isEqualTo(200);
        assertThat(script.body()).contains("v1/chat/completions");
        assertThat(style.status()).isEqualTo(200);
    }

    @Test
    void the_openapi_description_lists_every_api_route_with_its_request_body() {
        var spec = server.get("/swagger/knllama.yml");

        assertThat(spec.status()).isEqualTo(200);
        assertThat(spec.body()).startsWith("openapi: 3.")
                .contains("/v1/chat/completions:", "/v1/completions:", "/v1/embeddings:", "/v1/models:",
                        "/api/chat:", "/api/generate:", "/api/embed:", "/api/tags:", "/api/show:", "/api/ps:", "/api/version:",
                        "/events:")
                .contains("$ref: \"#/components/schemas/ChatCompletionRequest\"")
                .contains("$ref: \"#/components/schemas/OllamaChatRequest\"")
                .contains("application/x-ndjson", "text/event-stream", "keep_alive:", "max_completion_tokens:");
    }

    @Test
    void swagger_ui_redoc_and_scalar_load_and_point_at_the_description() {
        var swagger = server.get("/swagger-ui/");
        var bundle = server.get("/swagger-ui/res/swagger-ui-bundle.js");
        var redoc = server.get("/redoc/index.html");
        var scalar = server.get("/scalar/index.html");

        assertThat(swagger.status()).isEqualTo(200);
        assertThat(swagger.body()).contains("/swagger/knllama.yml");
        assertThat(bundle.status()).isEqualTo(200);
        assertThat(bundle.body().length()).isGreaterThan(100_000);
        assertThat(redoc.status()).isEqualTo(200);
        assertThat(redoc.body()).contains("/swagger/knllama.yml");
        assertThat(scalar.status()).isEqualTo(200);
    }

    @Test
    void static_resources_shadow_no_api_route_and_unknown_paths_keep_each_apis_error_shape() {
        var events = server.post("/", "{}");
        var openAi = server.get("/v1/nothing");
        var ollama = server.get("/api/nothing");
        var missing = server.get("/chat/missing.js");

        assertThat(events.status()).as("POST / is still the CloudEvents endpoint").isEqualTo(400);
        assertThat(openAi.status()).isEqualTo(404);
        assertThat(openAi.json().get("error").get("code").getStringValue()).isEqualTo("not_found");
        assertThat(ollama.status()).isEqualTo(404);
        assertThat(ollama.json().get("error").isString()).isTrue();
        assertThat(missing.status()).isEqualTo(404);
    }
}
