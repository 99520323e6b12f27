package io.knllama.inference;

import io.knllama.inference.GenerationRequest.ChatMessage;
import io.knllama.model.ModelFile;
import io.knllama.model.ModelProperties;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** How a conversation becomes a prompt for this model. */
sealed interface ChatFormat {

    /** llama.cpp's built-in templates (b4916) that may be named in {@code KNLLAMA_MODEL_CHAT_TEMPLATE}. */
    Set<String> BUILT_IN = Set.of("chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip", "mistral-v1",
            "mistral-v3", "mistral-v3-tekken", "mistral-v7", "phi3", "phi4", "falcon3", "zephyr", "monarch", "gemma",
            "orion", "openchat", "vicuna", "vicuna-orca", "deepseek", "deepseek2", "deepseek3", "command-r", "llama3",
            "chatglm3", "chatglm4", "glmedge", "minicpm", "exaone3", "rwkv-world", "granite", "gigachat", "megrez");

    String TRANSCRIPT = "transcript";

    /** Human-readable, for the start-up log and /v1/models. */
    String description();

    /**
     * llama.cpp renders the messages, with the model's own template or a named built-in one. Templates are
     * rendered by llama.cpp's built-in formatters, not its Jinja engine: a Jinja template that raises an
     * error (many refuse a system message, or turns that do not alternate) would abort the process
     * through the binding.
     *
     * @param builtIn the built-in template name to configure, or {@code null} for the model's own
     */
    record Native(String builtIn, String description) implements ChatFormat {
    }

    /**
     * A plain transcript ("User: …" / "Assistant: …") rendered here, for base models that ship no chat
     * template: they continue such a transcript sensibly where a chat template's special tokens mean
     * nothing to them. Generation stops where the model would start the user's next turn.
     */
    record Transcript() implements ChatFormat {
        static final List<String> STOP = List.of("\nUser:");

        @Override
        public String description() {
            return "plain User/Assistant transcript (the model has no chat template)";
        }

        String render(List<ChatMessage> messages) {
            StringBuilder prompt = new StringBuilder();
            String system = messages.stream().filter(m -> m.role() == ChatMessage.Role.SYSTEM)
                    .map(ChatMessage::content).collect(Collectors.joining("\n\n"));
            if (!system.isBlank()) {
                prompt.append(system.strip()).append("\n\n");
            }
            for (ChatMessage message : messages) {
                switch (message.role()) {
                    case USER -> prompt.append("User: ").append(message.content().strip()).append('\n');
                    case ASSISTANT -> prompt.append("Assistant: ").append(message.content().strip()).append('\n');
                    case SYSTEM -> { }
                }
            }
            return prompt.append("Assistant:").toString();
        }
    }

    /** Fails start-up on a template name llama.cpp would silently replace with ChatML. */
    static void checkConfigured(ModelProperties properties) {
        String configured = properties.chatTemplate();
        if (configured != null && !TRANSCRIPT.equals(configured) && !BUILT_IN.contains(configured)) {
            throw new IllegalArgumentException(("knllama.model.chat-template '%s' is not one of llama.cpp's built-in "
                    + "templates %s nor 'transcript'").formatted(configured, new java.util.TreeSet<>(BUILT_IN)));
        }
    }

    static ChatFormat choose(ModelProperties properties, ModelFile file) {
        String configured = properties.chatTemplate();
        if (TRANSCRIPT.equals(configured)) {
            return new Transcript();
        }
        if (configured != null) {
            return new Native(configured, "llama.cpp built-in template '" + configured + "'");
        }
        if (file.chatTemplate().isPresent()) {
            return new Native(null, "the model's own chat template");
        }
        return new Transcript();
    }
}
