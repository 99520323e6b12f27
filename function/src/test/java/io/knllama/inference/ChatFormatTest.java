package io.knllama.inference;

import io.knllama.inference.GenerationRequest.ChatMessage;
import io.knllama.inference.GenerationRequest.ChatMessage.Role;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ChatFormatTest {

    @Test
    void a_transcript_puts_system_text_first_and_leaves_the_assistant_turn_open() {
        String prompt = new ChatFormat.Transcript().render(List.of(
                new ChatMessage(Role.SYSTEM, "You are terse."),
                new ChatMessage(Role.USER, "Hi"),
                new ChatMessage(Role.ASSISTANT, "Hello."),
                new ChatMessage(Role.SYSTEM, "Answer in one word."),
                new ChatMessage(Role.USER, "  Capital of France?  ")));

        assertThat(prompt).isEqualTo("""
                You are terse.

                Answer in one word.

                User: Hi
                Assistant: Hello.
                User: Capital of France?
                Assistant:""");
    }

    @Test
    void a_transcript_stops_where_the_next_user_turn_would_begin() {
        assertThat(ChatFormat.Transcript.STOP).containsExactly("\nUser:");
    }
}
