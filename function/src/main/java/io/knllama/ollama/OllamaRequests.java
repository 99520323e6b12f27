package io.knllama.ollama;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.error.Echo;
import io.knllama.inference.GenerationRequest;
import io.knllama.inference.GenerationRequest.ChatMessage;
import io.knllama.inference.GenerationRequest.ChatMessage.Role;
import io.knllama.inference.GenerationRequest.Prompt;
import io.knllama.grammar.JsonSchemaGrammar;
import io.knllama.inference.GenerationRequest.ResponseFormat;
import io.knllama.inference.GenerationRequest.Sampling;
import io.knllama.request.ChatRoles;
import io.knllama.request.EmbeddingInput;
import io.knllama.request.Parameters;
import io.knllama.request.RequestFields;
import io.micronaut.json.tree.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Pure translation of Ollama request bodies into engine requests.
 *
 * <p>Tolerant where Ollama is: top-level fields Ollama does not define are ignored, as Ollama's own server
 * ignores them (clients leak their own settings into bodies, e.g. ollama4j's {@code useTools}), and explicit
 * {@code null} counts as absent. Strict where it matters: every field Ollama defines is type-checked; fields
 * that change nothing here ({@code keep_alive}, {@code truncate}, hardware options such as {@code num_gpu})
 * are accepted; fields that cannot be honoured (images, tools, thinking, templates, {@code context},
 * sampling options llama.cpp is not given here) are refused with a 400 naming them, rather than ignored.
 * {@code options} is a closed set, as Ollama documents it: an unknown option is refused too.
 */
public final class OllamaRequests {

    static final long MAX_TOKENS = 1_000_000;
    private static final String LATEST = ":latest";

    /*
     * Each object's fields and their fate here: the list the OpenAPI description and OLLAMA.md follow. Fields
     * outside these lists are ignored without a check, as Ollama ignores them.
     */
    /** {@code POST /api/chat}. */
    static final Parameters CHAT = new Parameters(
            Set.of("model", "messages", "stream", "format", "options", "keep_alive"),
            Set.of("truncate", "shift"),
            Set.of("think", "tools", "logprobs", "top_logprobs", "template"));
    /** {@code POST /api/generate}. */
    static final Parameters GENERATE = new Parameters(
            Set.of("model", "prompt", "system", "raw", "stream", "format", "options", "keep_alive"),
            Set.of("truncate", "shift"),
            Set.of("think", "tools", "logprobs", "top_logprobs", "template", "images", "context", "suffix"));
    /** One message of a chat. */
    static final Parameters MESSAGE = new Parameters(Set.of("role", "content"), Set.of("thinking", "tool_name"),
            Set.of("images", "tool_calls"));
    /** {@code POST /api/embed}: options and keep_alive are checked, but change nothing for an embedding. */
    static final Parameters EMBED = new Parameters(Set.of("model", "input"), Set.of("truncate", "options", "keep_alive"),
            Set.of("dimensions"));
    /** {@code POST /api/show}: the model's name, in {@code model} or in the older {@code name}. */
    static final Parameters SHOW = new Parameters(Set.of("model", "name"), Set.of("verbose"), Set.of());
    /**
     * {@code options}, a closed set as Ollama documents it: sampling options map onto the engine's; those that
     * size or place the model change nothing here (the deployment decides them); sampling options the engine
     * does not take are accepted only at their neutral value.
     */
    static final Parameters OPTIONS = new Parameters(
            Set.of("temperature", "top_p", "top_k", "min_p", "seed", "num_predict", "repeat_penalty", "presence_penalty",
                    "frequency_penalty", "stop"),
            Set.of("num_ctx", "num_batch", "num_gpu", "main_gpu", "num_thread", "numa", "low_vram", "f16_kv", "logits_all",
                    "vocab_only", "use_mmap", "use_mlock", "num_keep"),
            Set.of("typical_p", "tfs_z", "mirostat", "mirostat_tau", "mirostat_eta", "repeat_last_n", "penalize_newline"));

    private static final List<String> ROLES = List.of("system", "user", "assistant", "tool");

    private OllamaRequests() {
    }

    /**
     * A chat or generate request. {@code generation} is {@code null} when there is nothing to generate (no
     * messages, or an empty prompt): Ollama clients send such requests to load (or, with {@code keep_alive: 0},
     * unload) a model, and get an immediate {@code done} answer.
     *
     * @param unload {@code keep_alive} was zero
     */
    public record Generation(String model, GenerationRequest generation, boolean stream, boolean unload) {
    }

    /** An embedding request; {@code inputs} may be empty (Ollama answers with no vectors). */
    public record Embed(String model, List<String> inputs) {
    }

    /** Whether a model name a client sent names the served model: its id, with or without Ollama's {@code :latest}. */
    public static boolean names(String requested, String servedId) {
        return requested.equals(servedId) || requested.equals(servedId + LATEST);
    }

    /** The name the served model is listed under, as Ollama lists its models ({@code name:tag}). */
    public static String listedName(String servedId) {
        return servedId.contains(":") ? servedId : servedId + LATEST;
    }

    /**
     * {@code POST /api/chat}.
     *
     * @param contextSize tokens of context a request gets here, to check {@code options.num_ctx} against
     */
    public static Generation chat(JsonNode json, int contextSize) {
        RequestFields body = RequestFields.body(json);
        String model = body.requiredString("model");
        List<ChatMessage> messages = messages(body);
        common(body);
        body.unsupported("template", "Prompt templates are not supported: messages are rendered with the model's own chat "
                + "template.");
        Options options = options(body, contextSize);
        ResponseFormat format = format(body);
        boolean stream = body.bool("stream").orElse(true);
        boolean unload = keepAliveIsZero(body);
        GenerationRequest generation = messages.isEmpty() ? null
                : new GenerationRequest(new Prompt.Chat(messages), options.sampling(), options.maxTokens(), format);
        return new Generation(model, generation, stream, unload);
    }

    /** {@code POST /api/generate}. Without {@code raw}, the prompt is a user turn (after {@code system}, if set). */
    public static Generation generate(JsonNode json, int contextSize) {
        RequestFields body = RequestFields.body(json);
        String model = body.requiredString("model");
        String prompt = body.string("prompt").orElse("");
        String system = body.string("system").orElse("");
        boolean raw = body.bool("raw").orElse(false);
        common(body);
        nonEmpty(body, "images", "Images are not supported: this model reads text only.");
        nonEmpty(body, "context", "'context' (token ids from an earlier /api/generate answer) is not supported; "
                + "keep a conversation in /api/chat's messages instead.");
        body.string("suffix").filter(s -> !s.isEmpty()).ifPresent(s -> {
            throw new ApiException(new ApiError.Unsupported("suffix", "Insertion (suffix) is not supported by this server."));
        });
        body.string("template").filter(s -> !s.isEmpty()).ifPresent(s -> {
            throw new ApiException(new ApiError.Unsupported("template", "Prompt templates are not supported: the prompt "
                    + "is rendered with the model's own chat template, or passed as is with \"raw\": true."));
        });
        if (raw && !system.isEmpty()) {
            throw new ApiException(new ApiError.Unsupported("system",
                    "'system' has no effect with \"raw\": true; put it in the prompt yourself."));
        }
        Options options = options(body, contextSize);
        ResponseFormat format = format(body);
        boolean stream = body.bool("stream").orElse(true);
        boolean unload = keepAliveIsZero(body);
        if (prompt.isEmpty()) {
            return new Generation(model, null, stream, unload);
        }
        Prompt rendered;
        if (raw) {
            rendered = new Prompt.Text(prompt);
        } else {
            List<ChatMessage> messages = new ArrayList<>(2);
            if (!system.isEmpty()) {
                messages.add(new ChatMessage(Role.SYSTEM, system));
            }
            messages.add(new ChatMessage(Role.USER, prompt));
            rendered = new Prompt.Chat(messages);
        }
        return new Generation(model, new GenerationRequest(rendered, options.sampling(), options.maxTokens(), format),
                stream, unload);
    }

    /** {@code POST /api/embed}. Inputs longer than the context are refused, not truncated, whatever {@code truncate} says. */
    public static Embed embed(JsonNode json, int contextSize) {
        RequestFields body = RequestFields.body(json);
        String model = body.requiredString("model");
        body.unsupported("dimensions", "Choosing embedding dimensions is not supported; vectors have the model's width.");
        body.bool("truncate");
        keepAliveIsZero(body);
        options(body, contextSize);
        return new Embed(model, EmbeddingInput.read(body, 0));
    }

    /** {@code POST /api/show}: the model's name, in {@code model} or in the older {@code name}. */
    public static String show(JsonNode json) {
        RequestFields body = RequestFields.body(json);
        body.bool("verbose");
        Optional<String> name = body.string("name");
        return body.string("model").or(() -> name).orElseThrow(() -> RequestFields.invalid("model",
                "Missing required parameter: 'model'.", "missing_required_parameter"));
    }

    /** Fields chat and generate share that change nothing, or cannot be honoured, here. */
    private static void common(RequestFields body) {
        JsonNode think = body.raw("think");
        if (think != null && !(think.isBoolean() && !think.getBooleanValue())) {
            if (!think.isBoolean() && !think.isString()) {
                throw RequestFields.invalid("think", "Invalid type for 'think': expected a boolean or a string, but got "
                        + RequestFields.kind(think) + ".", "invalid_type");
            }
            throw new ApiException(new ApiError.Unsupported("think",
                    "This model does not support thinking; leave 'think' out or set it to false."));
        }
        nonEmpty(body, "tools", "This model does not support tools.");
        if (body.bool("logprobs").orElse(false)) {
            throw new ApiException(new ApiError.Unsupported("logprobs", "Log probabilities are not available: the llama.cpp "
                    + "binding in use (de.kherud:llama 4.2.0) cannot return them."));
        }
        if (body.integer("top_logprobs", 0, 20).orElse(0L) > 0) {
            throw new ApiException(new ApiError.Unsupported("top_logprobs", "Log probabilities are not available."));
        }
        body.bool("truncate");
        body.bool("shift");
    }

    /** A list field that may be sent empty (clients send {@code "tools": []}) but not with content. */
    private static void nonEmpty(RequestFields body, String name, String why) {
        body.array(name).filter(list -> !list.isEmpty()).ifPresent(list -> {
            throw new ApiException(new ApiError.Unsupported(body.path(name), why));
        });
    }

    private static List<ChatMessage> messages(RequestFields body) {
        List<RequestFields.Element> elements = body.array("messages").orElse(List.of());
        List<ChatMessage> messages = new ArrayList<>(elements.size());
        for (RequestFields.Element element : elements) {
            RequestFields message = element.asObject();
            Role parsed = ChatRoles.read(message, ROLES);
            nonEmpty(message, "images", "Images are not supported: this model reads text only.");
            nonEmpty(message, "tool_calls", "Tool calls are not supported: this model does not call tools.");
            // An earlier answer's reasoning is not part of the next prompt, in Ollama either.
            message.string("thinking");
            message.string("tool_name");
            messages.add(new ChatMessage(parsed, message.string("content").orElse("")));
        }
        return messages;
    }

    private record Options(Sampling sampling, Integer maxTokens) {
    }

    private static Options options(RequestFields body, int contextSize) {
        RequestFields options = body.object("options").orElse(null);
        if (options == null) {
            return new Options(Sampling.DEFAULTS, null);
        }
        for (Map.Entry<String, JsonNode> entry : body.raw("options").entries()) {
            String name = entry.getKey();
            if (!OPTIONS.all().contains(name)) {
                throw RequestFields.invalid(options.path(name), "'%s' is not an Ollama option.".formatted(options.path(name)),
                        "unknown_parameter");
            }
        }
        for (String name : List.of("num_batch", "num_gpu", "main_gpu", "num_thread", "num_keep")) {
            options.integer(name, -1, Integer.MAX_VALUE);
        }
        for (String name : List.of("numa", "low_vram", "f16_kv", "logits_all", "vocab_only", "use_mmap", "use_mlock")) {
            options.bool(name);
        }
        options.integer("num_ctx", 1, Integer.MAX_VALUE).filter(n -> n > contextSize).ifPresent(n -> {
            throw new ApiException(new ApiError.Unsupported(options.path("num_ctx"), ("This server gives each request %d "
                    + "tokens of context (set at deployment with KNLLAMA_MODEL_CONTEXT_SIZE); options.num_ctx %d cannot be "
                    + "honoured.").formatted(contextSize, n)));
        });
        options.neutralOnly("typical_p", 1.0);
        options.neutralOnly("tfs_z", 1.0);
        options.neutralOnly("mirostat", 0.0);
        options.number("mirostat_tau", 0, Double.MAX_VALUE);
        options.number("mirostat_eta", 0, Double.MAX_VALUE);
        options.neutralOnly("repeat_last_n", 64.0);
        if (options.bool("penalize_newline").orElse(false)) {
            throw new ApiException(new ApiError.Unsupported(options.path("penalize_newline"),
                    "'options.penalize_newline' is not supported by this server's llama.cpp build."));
        }
        Integer maxTokens = options.integer("num_predict", -2, MAX_TOKENS).map(n -> {
            if (n == 0) {
                throw RequestFields.invalid(options.path("num_predict"), "'options.num_predict' must be -1 (no limit), "
                        + "-2 (fill the context) or at least 1.", "invalid_value");
            }
            return n < 0 ? null : n.intValue();
        }).orElse(null);
        Sampling sampling = new Sampling(
                options.floatNumber("temperature", 0, 10).orElse(null),
                options.floatNumber("top_p", 0, 1).orElse(null),
                options.integer("top_k", 0, 1_000_000).map(Long::intValue).orElse(null),
                options.floatNumber("min_p", 0, 1).orElse(null),
                // Ollama's seed -1 (or any negative) means "random", which is what no seed means to the engine.
                options.integer("seed", Long.MIN_VALUE, Long.MAX_VALUE).filter(seed -> seed >= 0).orElse(null),
                options.floatNumber("presence_penalty", -2, 2).orElse(null),
                options.floatNumber("frequency_penalty", -2, 2).orElse(null),
                options.floatNumber("repeat_penalty", 0, 10).orElse(null),
                options.stopSequences("stop"),
                Map.of());
        return new Options(sampling, maxTokens);
    }

    /** {@code "json"}, a JSON schema, or nothing (absent, null or {@code ""}). */
    private static ResponseFormat format(RequestFields body) {
        JsonNode format = body.raw("format");
        if (format == null || (format.isString() && format.getStringValue().isEmpty())) {
            return new ResponseFormat.Text();
        }
        if (format.isString()) {
            if (!format.getStringValue().equals("json")) {
                throw RequestFields.invalid("format", "Invalid value for 'format': expected \"json\" or a JSON schema, "
                        + "but got \"%s\".".formatted(format.getStringValue()), "invalid_value");
            }
            return new ResponseFormat.Json(JsonSchemaGrammar.anyObject());
        }
        if (!format.isObject()) {
            throw RequestFields.invalid("format", "Invalid type for 'format': expected \"json\" or a JSON schema object, but got "
                    + RequestFields.kind(format) + ".", "invalid_type");
        }
        return new ResponseFormat.Json(JsonSchemaGrammar.of(format, "format"));
    }

    /**
     * Checks {@code keep_alive} (a Go duration string such as {@code "5m"}, or a number of seconds) and says
     * whether it is zero. It changes nothing else here: Knative, not the function, decides how long a pod lives.
     */
    private static boolean keepAliveIsZero(RequestFields body) {
        JsonNode keepAlive = body.raw("keep_alive");
        if (keepAlive == null) {
            return false;
        }
        if (keepAlive.isNumber()) {
            return keepAlive.getNumberValue().doubleValue() == 0;
        }
        if (!keepAlive.isString()) {
            throw RequestFields.invalid("keep_alive", "Invalid type for 'keep_alive': expected a duration such as \"5m\" or "
                    + "a number of seconds, but got " + RequestFields.kind(keepAlive) + ".", "invalid_type");
        }
        String value = keepAlive.getStringValue().strip();
        return switch (GoDuration.read(value)) {
            case ZERO -> true;
            case NON_ZERO -> false;
            case INVALID -> throw RequestFields.invalid("keep_alive", ("Invalid value for 'keep_alive': \"%s\" is not a duration "
                    + "such as \"5m\", \"1h30m\" or \"-1\".").formatted(Echo.of(value)), "invalid_value");
        };
    }
}
