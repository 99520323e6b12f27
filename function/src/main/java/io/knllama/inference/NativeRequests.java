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
     * @param promptIds the prompt's tokens as llama.cpp will see them ({@link #BOS} first if the model adds one)
     */
    record Prepared(String text, int[] promptIds, int maxTokens, String grammar, List<String> stop) {
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
        switch (request.prompt()) {
            case Prompt.Text(String raw) -> {
                text = NativeText.wellFormed(raw);
                promptParam = "prompt";
            }
            case Prompt.Chat(List<ChatMessage> messages) -> {
                text = renderChat(llama, messages);
                if (llama.chat() instanceof ChatFormat.Transcript) {
                    stop.addAll(ChatFormat.Transcript.STOP);
                }
                promptParam = "messages";
            }
        }
        int[] promptIds = tokens(llama, text);
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
        return new Prepared(text, promptIds, requested != null ? requested : available, grammar, List.copyOf(stop));
    }

    /** Parameters for one generation in native slot {@code slot}. */
    InferenceParameters parameters(Prepared prepared, GenerationRequest.Sampling s, int slot) {
        InferenceParameters parameters = new InferenceParameters(prepared.text())
                .setNPredict(prepared.maxTokens())
                .setCachePrompt(promptCache);
        pin(parameters, slot);
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

    /** Checks each input fits one batch of the slot and returns the tokens they take together. */
    int embeddingTokens(ModelHost.Loaded llama, List<String> inputs, int batchSize) {
        int limit = Math.min(contextPerSlot, batchSize);
        int total = 0;
        for (int i = 0; i < inputs.size(); i++) {
            int tokens = tokens(llama, NativeText.wellFormed(inputs.get(i))).length;
            if (tokens > limit) {
                throw new ApiException(new ApiError.ContextLengthExceeded("input[" + i + "]", tokens, 0, limit));
            }
            total += tokens;
        }
        return total;
    }

    private String renderChat(ModelHost.Loaded llama, List<ChatMessage> messages) {
        if (llama.chat() instanceof ChatFormat.Transcript transcript) {
            return NativeText.wellFormed(transcript.render(messages));
        }
        List<Map<String, String>> wire = new ArrayList<>(messages.size());
        for (ChatMessage message : messages) {
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
        int[] encoded = llama.model().encode(text);
        if (!llama.file().addsBos()) {
            return encoded;
        }
        int[] tokens = new int[encoded.length + 1];
        tokens[0] = BOS;
        System.arraycopy(encoded, 0, tokens, 1, encoded.length);
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
    @SuppressWarnings("unchecked")
    private static void pin(InferenceParameters parameters, int slot) {
        try {
            ((Map<String, String>) JSON_PARAMETERS.get(parameters)).put("id_slot", Integer.toString(slot));
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot set id_slot on the binding's parameters", e);
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
