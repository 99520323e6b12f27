package io.knllama.apidocs;

import io.swagger.v3.oas.annotations.OpenAPIDefinition;
import io.swagger.v3.oas.annotations.enums.SecuritySchemeType;
import io.swagger.v3.oas.annotations.info.Info;
import io.swagger.v3.oas.annotations.info.License;
import io.swagger.v3.oas.annotations.security.SecurityScheme;
import io.swagger.v3.oas.annotations.tags.Tag;

/**
 * The OpenAPI description's front matter. micronaut-openapi reads it, with every controller's annotations,
 * at compile time and writes the spec and its UIs into the jar; nothing of this runs.
 */
@OpenAPIDefinition(
        info = @Info(title = "knllama", version = "v1",
                description = "Serverless GGUF inference: one model, loaded in-process through llama.cpp, behind an "
                        + "OpenAI-compatible API (/v1), an Ollama-compatible API (/api) and CloudEvents (/, /events). "
                        + "Request bodies are checked strictly; errors come in each API's own shape.",
                license = @License(name = "See the repository")),
        tags = {
                @Tag(name = "OpenAI", description = "OpenAI-compatible routes: official SDKs and LangChain4j work with a base URL of /v1"),
                @Tag(name = "Ollama", description = "Ollama-compatible routes: ollama4j, LangChain's Ollama integrations, Open WebUI"),
                @Tag(name = "CloudEvents", description = "Prompts and batches as a Knative Trigger delivers them"),
                @Tag(name = "Operations", description = "Metrics for Prometheus")
        })
@SecurityScheme(name = "apiKey", type = SecuritySchemeType.HTTP, scheme = "bearer",
        description = "Required on /v1, /api and /events when the function runs with KNLLAMA_API_KEY")
final class ApiDocumentation {

    private ApiDocumentation() {
    }
}
