package io.knllama.openai;

import io.micronaut.core.annotation.Nullable;
import io.swagger.v3.oas.annotations.media.Schema;

import java.util.List;
import java.util.Map;

/**
 * Request bodies as the OpenAPI description shows them. Documentation only: the controller reads bodies as
 * bytes and {@link OpenAiRequests} parses them strictly, so these records are never instantiated.
 */
final class OpenAiSchemas {

    private OpenAiSchemas() {
    }

    @Schema(name = "ChatCompletionRequest", description = "Unknown parameters are refused with a 400 naming them; tools, "
            + "logprobs, n > 1 and image parts are refused as unsupported.")
    record ChatRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, example = "gemma-3-270m-q4_k_m") String model,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<Message> messages,
            @Nullable @Schema(description = "Server-sent events, one chunk per piece of text, then data: [DONE]") Boolean stream,
            @Nullable @Schema(description = "{\"include_usage\": true} adds a usage chunk before [DONE]") Map<String, @Nullable Object> streamOptions,
            @Nullable @Schema(minimum = "1") Integer maxTokens,
            @Nullable @Schema(minimum = "1") Integer maxCompletionTokens,
            @Nullable @Schema(minimum = "0", maximum = "2") Double temperature,
            @Nullable @Schema(minimum = "0", maximum = "1") Double topP,
            @Nullable @Schema(description = "llama.cpp extension", minimum = "0") Integer topK,
            @Nullable @Schema(description = "llama.cpp extension", minimum = "0", maximum = "1") Double minP,
            @Nullable Long seed,
            @Nullable @Schema(description = "A string or up to 16 strings") Object stop,
            @Nullable @Schema(minimum = "-2", maximum = "2") Double presencePenalty,
            @Nullable @Schema(minimum = "-2", maximum = "2") Double frequencyPenalty,
            @Nullable @Schema(description = "llama.cpp extension") Double repeatPenalty,
            @Nullable @Schema(description = "Token id to bias in [-100, 100]") Map<String, @Nullable Double> logitBias,
            @Nullable @Schema(description = "{\"type\": \"text\" | \"json_object\" | \"json_schema\", \"json_schema\": {\"name\", \"schema\"}}")
            Map<String, @Nullable Object> responseFormat) {
    }

    @Schema(name = "ChatMessage")
    record Message(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = {"system", "developer", "user", "assistant"})
            String role,
            @Nullable @Schema(description = "Text, or an array of text parts") Object content,
            @Nullable String name) {
    }

    @Schema(name = "CompletionRequest")
    record TextRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "One text prompt") String prompt,
            @Nullable @Schema(description = "Defaults to 16, as on OpenAI", minimum = "1") Integer maxTokens,
            @Nullable Boolean stream,
            @Nullable Boolean echo,
            @Nullable Double temperature,
            @Nullable Double topP,
            @Nullable Long seed,
            @Nullable Object stop) {
    }

    @Schema(name = "EmbeddingRequest", description = "Needs the function started with KNLLAMA_MODEL_EMBEDDINGS=true")
    record EmbedRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "A string or up to 256 strings") Object input,
            @Nullable @Schema(allowableValues = {"float", "base64"}) String encodingFormat) {
    }
}
