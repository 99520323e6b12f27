package io.knllama.ollama;

import io.micronaut.core.annotation.Nullable;
import io.swagger.v3.oas.annotations.media.Schema;

import java.util.List;

/**
 * Request bodies as the OpenAPI description shows them. The controller reads bodies as bytes and
 * {@link OllamaRequests} parses them, so these records are never instantiated; their fields are
 * {@link OllamaRequests#CHAT} and its siblings, every field the parser reads, which a test checks.
 */
final class OllamaSchemas {

    private static final String IGNORED = "Accepted and type-checked; changes nothing here";
    private static final String NO_TOOLS = "Only empty: this model does not call tools";
    private static final String NO_LOGPROBS = "Only false or 0: the binding cannot return log probabilities";

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
            @Nullable @Schema(description = IGNORED) Boolean truncate,
            @Nullable @Schema(description = IGNORED) Boolean shift,
            @Nullable @Schema(description = "Only false: this model does not think") Object think,
            @Nullable @Schema(description = NO_TOOLS) List<Object> tools,
            @Nullable @Schema(description = NO_LOGPROBS) Boolean logprobs,
            @Nullable @Schema(description = NO_LOGPROBS) Integer topLogprobs,
            @Nullable @Schema(description = "Refused: messages are rendered with the model's own chat template") String template) {
    }

    @Schema(name = "OllamaMessage")
    record Message(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, allowableValues = {"system", "user", "assistant"},
                    description = "tool messages are refused") String role,
            @Nullable String content,
            @Nullable @Schema(description = IGNORED) String thinking,
            @Nullable @Schema(description = IGNORED) String toolName,
            @Nullable @Schema(description = "Only empty: the model reads text only") List<String> images,
            @Nullable @Schema(description = NO_TOOLS) List<Object> toolCalls) {
    }

    @Schema(name = "OllamaGenerateRequest", description = "Without raw, the prompt is a user turn in the model's chat "
            + "format. An empty prompt answers at once with done_reason \"load\".")
    record GenerateRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
            @Nullable String prompt,
            @Nullable @Schema(description = "Not with raw") String system,
            @Nullable Boolean raw,
            @Nullable @Schema(defaultValue = "true") Boolean stream,
            @Nullable @Schema(description = "\"json\" or a JSON schema") Object format,
            @Nullable Options options,
            @Nullable Object keepAlive,
            @Nullable @Schema(description = IGNORED) Boolean truncate,
            @Nullable @Schema(description = IGNORED) Boolean shift,
            @Nullable @Schema(description = "Only false: this model does not think") Object think,
            @Nullable @Schema(description = NO_TOOLS) List<Object> tools,
            @Nullable @Schema(description = NO_LOGPROBS) Boolean logprobs,
            @Nullable @Schema(description = NO_LOGPROBS) Integer topLogprobs,
            @Nullable @Schema(description = "Only empty: the prompt is rendered with the model's own chat template") String template,
            @Nullable @Schema(description = "Only empty: the model reads text only") List<String> images,
            @Nullable @Schema(description = "Only empty: keep conversations in /api/chat's messages") List<Integer> context,
            @Nullable @Schema(description = "Only empty: insertion is not supported") String suffix) {
    }

    @Schema(name = "OllamaOptions", description = "Sampling options map onto llama.cpp's; options that size or place the "
            + "model are accepted and change nothing (num_ctx only up to the served context); typical_p, tfs_z, mirostat "
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
            @Nullable @Schema(description = "Up to the served context; changes nothing") Integer numCtx,
            @Nullable @Schema(description = IGNORED) Integer numBatch,
            @Nullable @Schema(description = IGNORED) Integer numGpu,
            @Nullable @Schema(description = IGNORED) Integer mainGpu,
            @Nullable @Schema(description = IGNORED) Integer numThread,
            @Nullable @Schema(description = IGNORED) Boolean numa,
            @Nullable @Schema(description = IGNORED) Boolean lowVram,
            @Nullable @Schema(description = IGNORED) Boolean f16Kv,
            @Nullable @Schema(description = IGNORED) Boolean logitsAll,
            @Nullable @Schema(description = IGNORED) Boolean vocabOnly,
            @Nullable @Schema(description = IGNORED) Boolean useMmap,
            @Nullable @Schema(description = IGNORED) Boolean useMlock,
            @Nullable @Schema(description = IGNORED) Integer numKeep,
            @Nullable @Schema(description = "Only 1") Double typicalP,
            @Nullable @Schema(description = "Only 1") Double tfsZ,
            @Nullable @Schema(description = "Only 0") Integer mirostat,
            @Nullable @Schema(description = "Any value; mirostat is off") Double mirostatTau,
            @Nullable @Schema(description = "Any value; mirostat is off") Double mirostatEta,
            @Nullable @Schema(description = "Only 64") Integer repeatLastN,
            @Nullable @Schema(description = "Only false") Boolean penalizeNewline) {
    }

    @Schema(name = "OllamaEmbedRequest", description = "Vectors are L2-normalized, as Ollama's are. Needs "
            + "KNLLAMA_MODEL_EMBEDDINGS=true")
    record EmbedRequest(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String model,
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "A string or up to 256 strings") Object input,
            @Nullable @Schema(description = "Accepted; inputs longer than the context are refused, not truncated") Boolean truncate,
            @Nullable @Schema(description = "Checked as for chat; changes nothing for an embedding") Options options,
            @Nullable @Schema(description = IGNORED) Object keepAlive,
            @Nullable @Schema(description = "Refused: vectors have the model's width") Integer dimensions) {
    }

    @Schema(name = "OllamaShowRequest")
    record ShowRequest(
            @Nullable @Schema(description = "The model id; or send it as name") String model,
            @Nullable @Schema(description = "The older spelling of model") String name,
            @Nullable @Schema(description = IGNORED) Boolean verbose) {
    }
}
