package io.knllama.inference;

import de.kherud.llama.InferenceParameters;
import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.inference.GenerationRequest.ChatMessage;
import io.knllama.inference.GenerationRequest.Prompt;
import io.knllama.inference.GenerationRequest.ResponseFormat;
import io.micronaut.json.JsonMapper;

import java.io.IOException;
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

    /** A request rendered and measured, checked against the slot's context. */
    record Prepared(String text, int promptTokens, int maxTokens, String grammar, List<String> stop) {
    }

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
        int promptTokens = promptTokens(llama, text);
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
        return new Prepared(text, promptTokens, requested != null ? requested : available, grammar, List.copyOf(stop));
    }

    InferenceParameters parameters(Prepared prepared, GenerationRequest.Sampling s) {
        InferenceParameters parameters = new InferenceParameters(prepared.text())
                .setNPredict(prepared.maxTokens())
                .setCachePrompt(promptCache);
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
            int tokens = promptTokens(llama, NativeText.wellFormed(inputs.get(i)));
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

    private static int promptTokens(ModelHost.Loaded llama, String text) {
        return llama.model().encode(text).length + (llama.file().addsBos() ? 1 : 0);
    }
}
