package io.knllama.openai;

import io.micronaut.core.annotation.Nullable;
import io.swagger.v3.oas.annotations.media.Schema;

import java.util.List;
import java.util.Map;

/**
 * Request bodies as the OpenAPI description shows them. The controller reads bodies as bytes and
 * {@link OpenAiRequests} parses them strictly, so these records are never instantiated; their fields are
 * {@link OpenAiRequests#CHAT} and its siblings, every parameter the parser accepts, which a test checks.
 */
final class OpenAiSchemas {

    private static final String IGNORED = "Accepted and type-checked; changes nothing here";

    private OpenAiSchemas() {
    }

    @Schema(name = "ChatCompletionRequest", description = "Unknown parameters are refused with a 400 naming them; "
            + "parameters this server cannot honour are refused by name unless sent at their default.")
    record ChatRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, example = "gemma-3-270m-q4_k_m") String model,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<Message> messages,
            @Nullable @Schema(description = "Server-sent events, one chunk per piece of text, then data: [DONE]") Boolean stream,
            @Nullable @Schema(description = "{\"include_usage\": true} adds a usage chunk before [DONE]") Map<String, @Nullable Object> streamOptions,
            @Nullable @Schema(minimum = "1") Integer maxTokens,
            @Nullable @Schema(minimum = "1") Integer maxCompletionTokens,
            @Nullable @Schema(minimum = "0", maximum = "2") Double temperature,
            @Nullable @Schema(minimum = "0", maximum = "1") Double topP,
            @Nullable @Schema(description = "llama.cpp extension", minimum = "0", maximum = "1000") Integer topK,
            @Nullable @Schema(description = "llama.cpp extension", minimum = "0", maximum = "1") Double minP,
            @Nullable Long seed,
            @Nullable @Schema(description = "A string or up to 16 strings") Object stop,
            @Nullable @Schema(minimum = "-2", maximum = "2") Double presencePenalty,
            @Nullable @Schema(minimum = "-2", maximum = "2") Double frequencyPenalty,
            @Nullable @Schema(description = "llama.cpp extension", minimum = "0", maximum = "10") Double repeatPenalty,
            @Nullable @Schema(description = "Token id to bias in [-100, 100]") Map<String, @Nullable Double> logitBias,
            @Nullable @Schema(description = "{\"type\": \"text\" | \"json_object\" | \"json_schema\", \"json_schema\": {\"name\", \"schema\"}}")
            Map<String, @Nullable Object> responseFormat,
            @Nullable @Schema(description = IGNORED) String user,
            @Nullable @Schema(description = IGNORED) Boolean store,
            @Nullable @Schema(description = IGNORED) Map<String, @Nullable Object> metadata,
            @Nullable @Schema(description = IGNORED) String serviceTier,
            @Nullable @Schema(description = IGNORED) String reasoningEffort,
            @Nullable @Schema(description = IGNORED) Boolean parallelToolCalls,
            @Nullable @Schema(description = "Only 1") Integer n,
            @Nullable @Schema(description = "Only false: the binding cannot return log probabilities") Boolean logprobs,
            @Nullable @Schema(description = "Only 0") Integer topLogprobs,
            @Nullable @Schema(description = "Refused: this server does not call tools") List<Object> tools,
            @Nullable @Schema(description = "Only \"none\" or \"auto\"") Object toolChoice,
            @Nullable @Schema(description = "Refused: this server does not call functions") List<Object> functions,
            @Nullable @Schema(description = "Refused: this server does not call functions") Object functionCall,
            @Nullable @Schema(description = "Only [\"text\"]") List<String> modalities,
            @Nullable @Schema(description = "Refused: text only") Map<String, @Nullable Object> audio,
            @Nullable @Schema(description = "Refused: predicted outputs are not supported") Map<String, @Nullable Object> prediction,
            @Nullable @Schema(description = "Refused: no web search") Map<String, @Nullable Object> webSearchOptions) {
    }

    @Schema(name = "ChatMessage")
    record Message(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = {"system", "developer", "user", "assistant"},
                    description = "tool and function messages are refused") String role,
            @Nullable @Schema(description = "Text, or an array of text parts") Object content,
            @Nullable @Schema(description = IGNORED) String name,
            @Nullable @Schema(description = IGNORED) String refusal,
            @Nullable @Schema(description = IGNORED) String toolCallId,
            @Nullable @Schema(description = "Refused: this server does not call tools") List<Object> toolCalls,
            @Nullable @Schema(description = "Refused: this server does not call functions") Object functionCall,
            @Nullable @Schema(description = "Refused: text only") Object audio) {
    }

    @Schema(name = "CompletionRequest")
    record TextRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "One text prompt") String prompt,
            @Nullable @Schema(description = "Defaults to 16, as on OpenAI", minimum = "1") Integer maxTokens,
            @Nullable Boolean stream,
            @Nullable @Schema(description = "{\"include_usage\": true} adds a usage chunk before [DONE]") Map<String, @Nullable Object> streamOptions,
            @Nullable @Schema(description = "Puts the prompt in front of the answer") Boolean echo,
            @Nullable @Schema(minimum = "0", maximum = "2") Double temperature,
            @Nullable @Schema(minimum = "0", maximum = "1") Double topP,
            @Nullable @Schema(description = "llama.cpp extension", minimum = "0", maximum = "1000") Integer topK,
            @Nullable @Schema(description = "llama.cpp extension", minimum = "0", maximum = "1") Double minP,
            @Nullable Long seed,
            @Nullable @Schema(description = "A string or up to 16 strings") Object stop,
            @Nullable @Schema(minimum = "-2", maximum = "2") Double presencePenalty,
            @Nullable @Schema(minimum = "-2", maximum = "2") Double frequencyPenalty,
            @Nullable @Schema(description = "llama.cpp extension", minimum = "0", maximum = "10") Double repeatPenalty,
            @Nullable @Schema(description = "Token id to bias in [-100, 100]") Map<String, @Nullable Double> logitBias,
            @Nullable @Schema(description = IGNORED) String user,
            @Nullable @Schema(description = "Refused: insertion is not supported") String suffix,
            @Nullable @Schema(description = "Only 1") Integer n,
            @Nullable @Schema(description = "Only 1") Integer bestOf,
            @Nullable @Schema(description = "Only 0: the binding cannot return log probabilities") Integer logprobs) {
    }

    @Schema(name = "EmbeddingRequest", description = "Needs the function started with KNLLAMA_MODEL_EMBEDDINGS=true")
    record EmbedRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "A string or up to 256 strings") Object input,
            @Nullable @Schema(allowableValues = {"float", "base64"}) String encodingFormat,
            @Nullable @Schema(description = IGNORED) String user,
            @Nullable @Schema(description = "Refused: vectors have the model's width") Integer dimensions) {
    }
}
