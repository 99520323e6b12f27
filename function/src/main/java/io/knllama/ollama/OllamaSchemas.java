package io.knllama.ollama;

import io.micronaut.core.annotation.Nullable;
import io.swagger.v3.oas.annotations.media.Schema;

import java.util.List;
import java.util.Map;

/**
 * Request bodies as the OpenAPI description shows them. Documentation only: the controller reads bodies as
 * bytes and {@link OllamaRequests} parses them, so these records are never instantiated.
 */
final class OllamaSchemas {

    private OllamaSchemas() {
    }

    @Schema(name = "OllamaChatRequest", description = "Fields Ollama does not define are ignored, as Ollama ignores them. "
            + "No messages: an immediate answer with done_reason \"load\" (\"unload\" with keep_alive 0).")
    record ChatRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "The model id, with or without :latest",
                    example = "gemma-3-270m-q4_k_m:latest") String model,
            @Nullable List<Message> messages,
            @Nullable @Schema(description = "Newline-delimited JSON unless false", defaultValue = "true") Boolean stream,
            @Nullable @Schema(description = "\"json\" or a JSON schema") Object format,
            @Nullable Options options,
            @Nullable @Schema(description = "Accepted (\"5m\", 300, -1); Knative, not the function, decides how long the pod lives")
            Object keepAlive,
            @Nullable @Schema(description = "Only false: this model does not think") Object think,
            @Nullable @Schema(description = "Only empty: this model does not call tools") List<Object> tools) {
    }

    @Schema(name = "OllamaMessage")
    record Message(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = {"system", "user", "assistant"}) String role,
            @Nullable String content,
            @Nullable @Schema(description = "Only empty: the model reads text only") List<String> images) {
    }

    @Schema(name = "OllamaGenerateRequest", description = "Without raw, the prompt is a user turn in the model's chat "
            + "format. An empty prompt answers at once with done_reason \"load\".")
    record GenerateRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
            @Nullable String prompt,
            @Nullable String system,
            @Nullable Boolean raw,
            @Nullable @Schema(defaultValue = "true") Boolean stream,
            @Nullable Object format,
            @Nullable Options options,
            @Nullable Object keepAlive) {
    }

    @Schema(name = "OllamaOptions", description = "Sampling options map onto llama.cpp's; num_ctx up to the served context "
            + "and hardware options (num_gpu, num_thread, ...) are accepted and change nothing; typical_p, tfs_z, mirostat "
            + "and repeat_last_n only at their neutral values; an unknown option is a 400.")
    record Options(
            @Nullable Double temperature,
            @Nullable Double topP,
            @Nullable Integer topK,
            @Nullable Double minP,
            @Nullable @Schema(description = "Negative: random") Long seed,
            @Nullable @Schema(description = "-1 or -2: until the context is full") Integer numPredict,
            @Nullable Double repeatPenalty,
            @Nullable Double presencePenalty,
            @Nullable Double frequencyPenalty,
            @Nullable List<String> stop,
            @Nullable Integer numCtx) {
    }

    @Schema(name = "OllamaEmbedRequest", description = "Vectors are L2-normalized, as Ollama's are. Needs "
            + "KNLLAMA_MODEL_EMBEDDINGS=true")
    record EmbedRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "A string or strings") Object input,
            @Nullable @Schema(description = "Accepted; inputs longer than the context are refused, not truncated") Boolean truncate,
            @Nullable Map<String, @Nullable Object> options) {
    }

    @Schema(name = "OllamaShowRequest")
    record ShowRequest(@Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model) {
    }
}
