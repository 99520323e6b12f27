package io.knllama.openai;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.error.Echo;
import io.knllama.request.ChatRoles;
import io.knllama.request.EmbeddingInput;
import io.knllama.request.Parameters;
import io.knllama.request.RequestFields;
import io.knllama.inference.GenerationRequest;
import io.knllama.inference.GenerationRequest.ChatMessage;
import io.knllama.inference.GenerationRequest.ChatMessage.Role;
import io.knllama.grammar.JsonSchemaGrammar;
import io.knllama.inference.GenerationRequest.ResponseFormat;
import io.knllama.inference.GenerationRequest.Sampling;
import io.micronaut.json.tree.JsonNode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Pure translation of OpenAI request bodies into engine requests. Strict like OpenAI itself: unknown
 * parameters, wrong types and out-of-range values are refused with the parameter's path; parameters
 * OpenAI defines but this server cannot honour (tools, logprobs, n &gt; 1, images) are refused by name
 * rather than silently ignored. Parameters that change nothing here ({@code user}, {@code store},
 * {@code metadata}, ...) are accepted.
 */
public final class OpenAiRequests {

    static final int MAX_LOGIT_BIAS = 1024;
    static final long MAX_TOKENS = 1_000_000;
    /** OpenAI's documented default for the legacy completions endpoint. */
    static final int COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

    private static final String NO_LOGPROBS = "Log probabilities are not available: the llama.cpp binding in use "
            + "(de.kherud:llama 4.2.0) cannot return them.";

    /** Sampling, as chat and legacy completions share it. */
    private static final Set<String> SAMPLING = Set.of("temperature", "top_p", "top_k", "min_p", "seed",
            "presence_penalty", "frequency_penalty", "repeat_penalty", "stop", "logit_bias");

    /** {@code POST /v1/chat/completions}: each parameter's fate here, the list the OpenAPI description and README follow. */
    static final Parameters CHAT = new Parameters(
            Set.of("model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "response_format"),
            Set.of("user", "store", "metadata", "service_tier", "reasoning_effort", "parallel_tool_calls"),
            Set.of("n", "logprobs", "top_logprobs", "tools", "tool_choice", "functions", "function_call", "modalities",
                    "audio", "prediction", "web_search_options")).honouring(SAMPLING);
    /** One message of a chat. */
    static final Parameters MESSAGE = new Parameters(Set.of("role", "content"), Set.of("name", "refusal", "tool_call_id"),
            Set.of("tool_calls", "function_call", "audio"));
    /** {@code POST /v1/completions}. */
    static final Parameters COMPLETION = new Parameters(
            Set.of("model", "prompt", "max_tokens", "stream", "stream_options", "echo"),
            Set.of("user"),
            Set.of("suffix", "n", "best_of", "logprobs")).honouring(SAMPLING);
    /** {@code POST /v1/embeddings}. */
    static final Parameters EMBEDDING = new Parameters(Set.of("model", "input", "encoding_format"), Set.of("user"),
            Set.of("dimensions"));

    private static final List<String> ROLES = List.of("system", "developer", "user", "assistant", "tool", "function");

    private OpenAiRequests() {
    }

    /** A chat completion request: what to generate and how to answer. */
    public record Chat(String model, GenerationRequest generation, boolean stream, boolean includeUsage) {
    }

    /** A legacy completion request. {@code echo} puts the prompt in front of the answer. */
    public record Text(String model, GenerationRequest generation, boolean stream, boolean includeUsage, String echo) {
    }

    record Embed(String model, List<String> inputs, boolean base64) {
    }

    public static Chat chat(JsonNode json) {
        RequestFields body = RequestFields.body(json).allowOnly(CHAT.all());
        String model = body.requiredString("model");
        List<ChatMessage> messages = messages(body);
        body.unsupported("tools", "Tools (function calling) are not supported by this server.");
        body.unsupported("functions", "Functions (function calling) are not supported by this server.");
        body.unsupported("function_call", "Functions (function calling) are not supported by this server.");
        body.unsupported("audio", "Audio output is not supported by this server.");
        body.unsupported("prediction", "Predicted outputs are not supported by this server.");
        body.unsupported("web_search_options", "Web search is not supported by this server.");
        // A named tool ({"type": "function", ...}) or "required" asks for a tool call; "none" and "auto" need none.
        if (body.present("tool_choice") && body.raw("tool_choice").isObject()) {
            throw new ApiException(new ApiError.Unsupported("tool_choice", "Tools are not supported by this server."));
        }
        body.string("tool_choice").filter(choice -> !choice.equals("none") && !choice.equals("auto")).ifPresent(choice -> {
            throw new ApiException(new ApiError.Unsupported("tool_choice", "Tools are not supported by this server."));
        });
        body.array("modalities").ifPresent(modalities -> modalities.forEach(m -> {
            if (!"text".equals(m.asString())) {
                throw new ApiException(new ApiError.Unsupported(m.path(), "Only the text modality is supported."));
            }
        }));
        if (body.bool("logprobs").orElse(false)) {
            throw new ApiException(new ApiError.Unsupported("logprobs", NO_LOGPROBS));
        }
        if (body.integer("top_logprobs", 0, 20).orElse(0L) > 0) {
            throw new ApiException(new ApiError.Unsupported("top_logprobs", NO_LOGPROBS));
        }
        onlyOne(body, "n");
        ignored(body);
        Long maxTokens = body.integer("max_completion_tokens", 1, MAX_TOKENS)
                .or(() -> body.integer("max_tokens", 1, MAX_TOKENS)).orElse(null);
        boolean stream = body.bool("stream").orElse(false);
        return new Chat(model, new GenerationRequest(new GenerationRequest.Prompt.Chat(messages), sampling(body),
                maxTokens == null ? null : maxTokens.intValue(), responseFormat(body)),
                stream, includeUsage(body, stream));
    }

    public static Text completion(JsonNode json) {
        RequestFields body = RequestFields.body(json).allowOnly(COMPLETION.all());
        String model = body.requiredString("model");
        String prompt = prompt(body);
        body.unsupported("suffix", "Insertion (suffix) is not supported by this server.");
        onlyOne(body, "n");
        onlyOne(body, "best_of");
        if (body.integer("logprobs", 0, 5).orElse(0L) > 0) {
            throw new ApiException(new ApiError.Unsupported("logprobs", NO_LOGPROBS));
        }
        body.string("user");
        int maxTokens = body.integer("max_tokens", 1, MAX_TOKENS).orElse((long) COMPLETIONS_DEFAULT_MAX_TOKENS).intValue();
        boolean stream = body.bool("stream").orElse(false);
        boolean echo = body.bool("echo").orElse(false);
        return new Text(model, new GenerationRequest(new GenerationRequest.Prompt.Text(prompt), sampling(body),
                maxTokens, new ResponseFormat.Text()), stream, includeUsage(body, stream), echo ? prompt : null);
    }

    static Embed embedding(JsonNode json) {
        RequestFields body = RequestFields.body(json).allowOnly(EMBEDDING.all());
        String model = body.requiredString("model");
        body.unsupported("dimensions", "Choosing embedding dimensions is not supported; vectors have the model's width.");
        body.string("user");
        String format = body.string("encoding_format").orElse("float");
        if (!format.equals("float") && !format.equals("base64")) {
            throw RequestFields.invalid("encoding_format", "Invalid 'encoding_format': expected 'float' or 'base64'.",
                    "invalid_value");
        }
        List<String> inputs = EmbeddingInput.read(body, 1);
        return new Embed(model, inputs, format.equals("base64"));
    }

    private static List<ChatMessage> messages(RequestFields body) {
        List<RequestFields.Element> elements = body.array("messages").orElseThrow(() -> RequestFields.invalid("messages",
                "Missing required parameter: 'messages'.", "missing_required_parameter"));
        if (elements.isEmpty()) {
            throw RequestFields.invalid("messages", "'messages' must contain at least one message.", "invalid_value");
        }
        List<ChatMessage> messages = new ArrayList<>(elements.size());
        for (RequestFields.Element element : elements) {
            RequestFields message = element.asObject().allowOnly(MESSAGE.all());
            Role parsed = ChatRoles.read(message, ROLES);
            message.unsupported("tool_calls", "Tool calls are not supported by this server.");
            message.unsupported("function_call", "Function calls are not supported by this server.");
            message.unsupported("audio", "Audio is not supported by this server.");
            message.string("name");
            message.string("refusal");
            message.string("tool_call_id");
            messages.add(new ChatMessage(parsed, content(message, parsed)));
        }
        return messages;
    }

    /** Content is a string, or an array of parts of which only text is supported. */
    private static String content(RequestFields message, Role role) {
        JsonNode content = message.raw("content");
        if (content == null) {
            if (role == Role.ASSISTANT) {
                return "";
            }
            throw RequestFields.invalid(message.path("content"), "Missing required parameter: '%s'.".formatted(message.path("content")),
                    "missing_required_parameter");
        }
        if (content.isString()) {
            return content.getStringValue();
        }
        if (!content.isArray()) {
            throw RequestFields.invalid(message.path("content"), "Invalid type for '%s': expected a string or an array of parts, but got %s."
                    .formatted(message.path("content"), RequestFields.kind(content)), "invalid_type");
        }
        StringBuilder text = new StringBuilder();
        for (RequestFields.Element element : message.array("content").orElseThrow()) {
            RequestFields part = element.asObject();
            String type = part.requiredString("type");
            switch (type) {
                case "text" -> {
                    part.allowOnly(Set.of("type", "text"));
                    if (!text.isEmpty()) {
                        text.append('\n');
                    }
                    text.append(part.requiredString("text"));
                }
                case "refusal" -> part.allowOnly(Set.of("type", "refusal")).string("refusal");
                case "image_url", "input_audio", "file" -> throw new ApiException(new ApiError.Unsupported(part.path("type"),
                        "Content of type '%s' is not supported: this model reads text only.".formatted(Echo.of(type))));
                default -> throw RequestFields.invalid(part.path("type"), "Invalid content part type '%s'.".formatted(Echo.of(type)),
                        "invalid_value");
            }
        }
        return text.toString();
    }

    private static String prompt(RequestFields body) {
        JsonNode prompt = body.raw("prompt");
        String text;
        if (prompt == null) {
            throw RequestFields.invalid("prompt", "Missing required parameter: 'prompt'.", "missing_required_parameter");
        } else if (prompt.isString()) {
            text = prompt.getStringValue();
        } else if (prompt.isArray()) {
            List<RequestFields.Element> elements = body.array("prompt").orElseThrow();
            if (elements.size() != 1 || !elements.getFirst().value().isString()) {
                throw new ApiException(new ApiError.Unsupported("prompt",
                        "Only a single text prompt is supported (not several prompts, nor token arrays)."));
            }
            text = elements.getFirst().asString();
        } else {
            throw RequestFields.invalid("prompt", "Invalid type for 'prompt': expected a string, but got "
                    + RequestFields.kind(prompt) + ".", "invalid_type");
        }
        if (text.isEmpty()) {
            throw RequestFields.invalid("prompt", "'prompt' must not be empty.", "invalid_value");
        }
        return text;
    }

    private static Sampling sampling(RequestFields body) {
        return new Sampling(
                body.floatNumber("temperature", 0, 2).orElse(null),
                body.floatNumber("top_p", 0, 1).orElse(null),
                body.integer("top_k", 0, 1000).map(Long::intValue).orElse(null),
                body.floatNumber("min_p", 0, 1).orElse(null),
                body.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE).orElse(null),
                body.floatNumber("presence_penalty", -2, 2).orElse(null),
                body.floatNumber("frequency_penalty", -2, 2).orElse(null),
                body.floatNumber("repeat_penalty", 0, 10).orElse(null),
                body.stopSequences("stop"),
                logitBias(body));
    }

    private static Map<Integer, Float> logitBias(RequestFields body) {
        Map<Integer, Float> bias = new HashMap<>();
        body.object("logit_bias").ifPresent(map -> {
            JsonNode raw = body.raw("logit_bias");
            if (raw.size() > MAX_LOGIT_BIAS) {
                throw RequestFields.invalid("logit_bias", "'logit_bias' may hold at most %d tokens.".formatted(MAX_LOGIT_BIAS),
                        "invalid_value");
            }
            for (Map.Entry<String, JsonNode> entry : raw.entries()) {
                int token;
                try {
                    token = Integer.parseInt(entry.getKey());
                } catch (NumberFormatException e) {
                    throw RequestFields.invalid("logit_bias", "'logit_bias' keys must be token ids, not '%s'.".formatted(Echo.of(entry.getKey())),
                            "invalid_value");
                }
                bias.put(token, map.floatNumber(entry.getKey(), -100, 100).orElseThrow());
            }
        });
        return bias;
    }

    private static ResponseFormat responseFormat(RequestFields body) {
        return body.object("response_format").map(format -> {
            String type = format.requiredString("type");
            return switch (type) {
                case "text" -> {
                    format.allowOnly(Set.of("type"));
                    yield new ResponseFormat.Text();
                }
                case "json_object" -> {
                    format.allowOnly(Set.of("type"));
                    yield new ResponseFormat.Json(JsonSchemaGrammar.anyObject());
                }
                case "json_schema" -> {
                    format.allowOnly(Set.of("type", "json_schema"));
                    RequestFields spec = format.object("json_schema").orElseThrow(() -> RequestFields.invalid(
                            "response_format.json_schema", "Missing required parameter: 'response_format.json_schema'.",
                            "missing_required_parameter"));
                    spec.allowOnly(Set.of("name", "schema", "strict", "description"));
                    spec.requiredString("name");
                    spec.string("description");
                    spec.bool("strict");
                    JsonNode schema = spec.object("schema").map(s -> spec.raw("schema")).orElseGet(() -> JsonNode.createObjectNode(Map.of()));
                    yield new ResponseFormat.Json(JsonSchemaGrammar.of(schema, "response_format.json_schema.schema"));
                }
                default -> throw RequestFields.invalid("response_format.type", ("Invalid value for 'response_format.type': "
                        + "'%s' is not one of 'text', 'json_object', 'json_schema'.").formatted(type), "invalid_value");
            };
        }).orElse(new ResponseFormat.Text());
    }

    private static boolean includeUsage(RequestFields body, boolean stream) {
        return body.object("stream_options").map(options -> {
            if (!stream) {
                throw RequestFields.invalid("stream_options", "'stream_options' is only allowed when 'stream' is true.",
                        "invalid_value");
            }
            options.allowOnly(Set.of("include_usage", "include_obfuscation"));
            options.bool("include_obfuscation");
            return options.bool("include_usage").orElse(false);
        }).orElse(false);
    }

    private static void onlyOne(RequestFields body, String name) {
        if (body.integer(name, 1, 128).orElse(1L) != 1) {
            throw new ApiException(new ApiError.Unsupported(name, "Only %s=1 is supported.".formatted(name)));
        }
    }

    /** Parameters that change nothing here; still type-checked, so a wrong type is reported. */
    private static void ignored(RequestFields body) {
        body.string("user");
        body.bool("store");
        body.bool("parallel_tool_calls");
        body.object("metadata");
        body.string("service_tier");
        body.string("reasoning_effort");
    }
}
