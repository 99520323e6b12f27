package io.knllama.inference;

import de.kherud.llama.InferenceParameters;
import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.inference.GenerationRequest.ChatMessage;
import io.knllama.inference.GenerationRequest.Prompt;
import io.knllama.inference.GenerationRequest.ResponseFormat;
import io.micronaut.json.JsonMapper;

import java.io.IOException;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a request becomes on its way into llama.cpp: the rendered, measured prompt and a fresh
 * {@link InferenceParameters} (the binding's parameter objects are mutable and not safe to share). Every text
 * goes through {@link NativeText} first. Calls here are JNI calls: they run on the engine's threads.
 */
final class NativeRequests {

    private final JsonMapper json;
    private final int contextPerSlot;
    private final boolean promptCache;

    NativeRequests(JsonMapper json, int contextPerSlot, boolean promptCache) {
        this.json = json;
        this.contextPerSlot = contextPerSlot;
        this.promptCache = promptCache;
    }

    /**
     * A request rendered and measured, checked against the slot's context.
     *
     * @param promptParam the request field the prompt came from, for errors about it
     * @param promptIds the prompt's tokens as llama.cpp will see them ({@link #BOS} first if the model adds one)
     * @param byIds     whether llama.cpp gets the prompt as {@code promptIds} rather than as text to tokenize: when
     *                  the text holds a message that must stay literal ({@link LiteralContent})
     */
    record Prepared(String promptParam, String text, int[] promptIds, boolean byIds, int maxTokens, String grammar,
                    List<String> stop) {
        int promptTokens() {
            return promptIds.length;
        }
    }

    /** Stands for the model's BOS token in {@link Prepared#promptIds}: every prompt has it in the same place. */
    static final int BOS = -1;

    /** The binding's parameters are a JSON map it offers no setter for {@code id_slot} in (see {@link #pin}). */
    private static final Field JSON_PARAMETERS = jsonParameters();

    Prepared prepare(ModelHost.Loaded llama, GenerationRequest request) {
        List<String> stop = new ArrayList<>(request.sampling().stop().stream().map(NativeText::wellFormed).toList());
        String text;
        String promptParam;
        LiteralContent.Layout layout = null;
        switch (request.prompt()) {
            case Prompt.Text(String raw) -> {
                promptParam = "prompt";
                checkLength(llama, utf8Length(raw), contextPerSlot, promptParam);
                text = NativeText.wellFormed(raw);
            }
            case Prompt.Chat(List<ChatMessage> messages) -> {
                promptParam = "messages";
                checkLength(llama, messages.stream().mapToLong(m -> utf8Length(m.content())).sum(), contextPerSlot, promptParam);
                layout = llama.literal().layout(contents -> renderChat(llama, messages, contents),
                        messages.stream().map(m -> NativeText.wellFormed(m.content())).toList());
                text = layout.text();
                if (llama.chat() instanceof ChatFormat.Transcript) {
                    stop.addAll(ChatFormat.Transcript.STOP);
                }
            }
        }
        int[] promptIds = tokens(llama, layout == null ? List.of(text) : LiteralContent.pieces(layout));
        int promptTokens = promptIds.length;
        Integer requested = request.maxTokens();
        int available = contextPerSlot - promptTokens;
        if ((requested != null && requested > available) || available < 1) {
            throw new ApiException(new ApiError.ContextLengthExceeded(promptParam, promptTokens,
                    requested != null ? requested : 1, contextPerSlot));
        }
        request.sampling().logitBias().keySet().stream()
                .filter(token -> token < 0 || token >= llama.file().vocabularySize()).findFirst()
                .ifPresent(token -> {
                    throw new ApiException(new ApiError.InvalidRequest("logit_bias",
                            "Token id %d is not in the model's vocabulary of %d tokens.".formatted(token, llama.file().vocabularySize())));
                });
        String grammar = switch (request.format()) {
            case ResponseFormat.Text t -> null;
            case ResponseFormat.Json(String gbnf) -> gbnf;
        };
        return new Prepared(promptParam, text, promptIds, layout != null && layout.literal(), requested != null ? requested : available,
                grammar, List.copyOf(stop));
    }

    /** Parameters for one generation in native slot {@code slot}. */
    InferenceParameters parameters(ModelHost.Loaded llama, Prepared prepared, GenerationRequest.Sampling s, int slot) {
        InferenceParameters parameters = new InferenceParameters(prepared.text())
                .setNPredict(prepared.maxTokens())
                .setCachePrompt(promptCache);
        pin(parameters, slot);
        if (prepared.byIds()) {
            promptAsIds(parameters, prepared.promptIds(), llama.file().bosToken());
        }
        if (s.temperature() != null) {
            parameters.setTemperature(s.temperature());
        }
        if (s.topP() != null) {
            parameters.setTopP(s.topP());
        }
        if (s.topK() != null) {
            parameters.setTopK(s.topK());
        }
        if (s.minP() != null) {
            parameters.setMinP(s.minP());
        }
        if (s.seed() != null) {
            parameters.setSeed((int) (s.seed() & 0x7fffffffL));
        }
        if (s.presencePenalty() != null) {
            parameters.setPresencePenalty(s.presencePenalty());
        }
        if (s.frequencyPenalty() != null) {
            parameters.setFrequencyPenalty(s.frequencyPenalty());
        }
        if (s.repeatPenalty() != null) {
            parameters.setRepeatPenalty(s.repeatPenalty());
        }
        if (!prepared.stop().isEmpty()) {
            parameters.setStopStrings(prepared.stop().toArray(String[]::new));
        }
        if (!s.logitBias().isEmpty()) {
            parameters.setTokenIdBias(s.logitBias());
        }
        if (prepared.grammar() != null) {
            parameters.setGrammar(prepared.grammar());
        }
        return parameters;
    }

    /**
     * llama.cpp b4916's words (server.cpp) when one request's prompt and answer outgrow its slot's context (with
     * context shift off, as here). Its "Input prompt is too big compared to KV size" is not about one request: it
     * goes to every slot when a batch fails to decode, so it stays an engine failure.
     */
    static final String CONTEXT_EXCEEDED = "the request exceeds the available context size";

    /**
     * What a failure inside llama.cpp means for the client. A request llama.cpp finds too long for its slot is the
     * client's 400, as the context check before it would have said; that check was never seen to let one through
     * (the issue-11 report's 4094-token case did not reproduce), but if llama.cpp counts otherwise, the answer stays
     * right. Anything else is the engine's failure, with a message that names nothing internal.
     */
    ApiError failure(RuntimeException failure, Prepared prepared) {
        String message = failure.getMessage();
        if (message != null && message.contains(CONTEXT_EXCEEDED)) {
            return new ApiError.ContextLengthExceeded(prepared.promptParam(), prepared.promptTokens(), prepared.maxTokens(), contextPerSlot);
        }
        return new ApiError.EngineFailure("The engine failed during generation.");
    }

    /** Checks each input fits one batch of the slot and returns the tokens they take together. */
    int embeddingTokens(ModelHost.Loaded llama, List<String> inputs, int batchSize) {
        int limit = Math.min(contextPerSlot, batchSize);
        int total = 0;
        for (int i = 0; i < inputs.size(); i++) {
            checkLength(llama, utf8Length(inputs.get(i)), limit, "input[" + i + "]");
            int tokens = tokens(llama, NativeText.wellFormed(inputs.get(i))).length;
            if (tokens > limit) {
                throw new ApiException(new ApiError.ContextLengthExceeded("input[" + i + "]", tokens, 0, limit));
            }
            total += tokens;
        }
        return total;
    }

    /**
     * Refuses, before tokenizing, a text too long for {@code limit} tokens whatever its tokens: none spells more
     * than the vocabulary's longest entry. Tokenizing is the one cost of a prompt that grows faster than its length
     * (a 450 KB prompt took 15 s), so it only ever sees texts that could fit.
     */
    private static void checkLength(ModelHost.Loaded llama, long utf8Bytes, int limit, String param) {
        long longest = Math.max(1, llama.file().longestTokenBytes());
        if (utf8Bytes > limit * longest) {
            int atLeast = (int) Math.min(Integer.MAX_VALUE, (utf8Bytes + longest - 1) / longest);
            throw new ApiException(new ApiError.ContextLengthExceeded(param, atLeast, 0, limit));
        }
    }

    private static long utf8Length(String text) {
        long bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
        }
        return bytes;
    }

    /** The messages rendered with the chat format, each with its content taken from {@code contents}. */
    private String renderChat(ModelHost.Loaded llama, List<ChatMessage> messages, List<String> contents) {
        List<ChatMessage> with = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            with.add(new ChatMessage(messages.get(i).role(), contents.get(i)));
        }
        if (llama.chat() instanceof ChatFormat.Transcript transcript) {
            return NativeText.wellFormed(transcript.render(with));
        }
        List<Map<String, String>> wire = new ArrayList<>(with.size());
        for (ChatMessage message : with) {
            Map<String, String> entry = new LinkedHashMap<>();
            entry.put("role", message.role().name().toLowerCase());
            entry.put("content", NativeText.wellFormed(message.content()));
            wire.add(entry);
        }
        try {
            return llama.model().applyTemplate(json.writeValueAsString(Map.of("messages", wire)));
        } catch (IOException e) {
            throw new IllegalStateException("cannot encode chat messages", e);
        }
    }

    /** The tokens llama.cpp makes of a prompt: the model's BOS (as {@link #BOS}) if it adds one, then the text's. */
    private static int[] tokens(ModelHost.Loaded llama, String text) {
        return tokens(llama, List.of(text));
    }

    /**
     * The tokens of a prompt given in pieces (one, or those {@link LiteralContent} cut it into): each piece tokenized
     * alone, joined, after the model's BOS (as {@link #BOS}) if it adds one.
     */
    private static int[] tokens(ModelHost.Loaded llama, List<String> pieces) {
        List<int[]> encoded = new ArrayList<>(pieces.size());
        int length = llama.file().addsBos() ? 1 : 0;
        for (String piece : pieces) {
            int[] ids = llama.model().encode(piece);
            encoded.add(ids);
            length += ids.length;
        }
        int[] tokens = new int[length];
        int at = 0;
        if (llama.file().addsBos()) {
            tokens[at++] = BOS;
        }
        for (int[] ids : encoded) {
            System.arraycopy(ids, 0, tokens, at, ids.length);
            at += ids.length;
        }
        return tokens;
    }

    /**
     * The tokens of a prompt followed by its answer, as the next turn's prompt will tokenize them, if those are the
     * tokens the model generated as far as can be told: as many as it generated, after the prompt's own. Otherwise
     * (the model spelled its answer otherwise than the text tokenizes, or the prompt's tokens change where the
     * answer joins it) only the prompt's: then the answer's share of the cache goes unreported rather than
     * reported wrongly. The answer is tokenized after its prompt, not alone: a tokenizer that marks the start of a
     * text (SentencePiece's leading space) would spell it differently on its own.
     *
     * @param generated tokens the model generated for the answer's text, or -1 if that is not known exactly
     */
    static int[] withAnswer(ModelHost.Loaded llama, Prepared prepared, String answer, int generated) {
        if (answer.isEmpty() || generated < 0) {
            return prepared.promptIds();
        }
        int[] both = tokens(llama, prepared.text() + NativeText.wellFormed(answer));
        boolean same = both.length == prepared.promptTokens() + generated
                && PromptCache.commonPrefix(prepared.promptIds(), both) == prepared.promptTokens();
        return same ? both : prepared.promptIds();
    }

    /**
     * Runs the generation in native slot {@code slot}, so that it meets the KV cache {@link PromptCache} chose it
     * for. The binding builds its request as a JSON map and has no setter for llama.cpp's {@code id_slot}.
     */
    private static void pin(InferenceParameters parameters, int slot) {
        putJson(parameters, "id_slot", Integer.toString(slot));
    }

    /** Hands llama.cpp the prompt as token ids, which it takes as they are (no parsing, no BOS of its own). */
    private static void promptAsIds(InferenceParameters parameters, int[] promptIds, int bos) {
        StringBuilder ids = new StringBuilder(promptIds.length * 7).append('[');
        for (int i = 0; i < promptIds.length; i++) {
            ids.append(i == 0 ? "" : ",").append(promptIds[i] == BOS ? bos : promptIds[i]);
        }
        putJson(parameters, "prompt", ids.append(']').toString());
    }

    /** Sets {@code key} in the binding's JSON parameter map (values are JSON text), where it has no setter. */
    @SuppressWarnings("unchecked")
    private static void putJson(InferenceParameters parameters, String key, String json) {
        try {
            ((Map<String, String>) JSON_PARAMETERS.get(parameters)).put(key, json);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot set " + key + " on the binding's parameters", e);
        }
    }

    private static Field jsonParameters() {
        try {
            Field field = InferenceParameters.class.getSuperclass().getDeclaredField("parameters");
            field.setAccessible(true);
            return field;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("the binding's parameter map is not where de.kherud:llama 4.2.0 keeps it", e);
        }
    }
}
