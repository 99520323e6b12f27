package io.knllama.inference;

import io.knllama.error.ApiError;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** What a failure reported by llama.cpp during a generation becomes for the client. */
class NativeFailuresTest {

    private final NativeRequests requests = new NativeRequests(null, 4096, true);
    private final NativeRequests.Prepared prepared =
            new NativeRequests.Prepared("messages", "text", new int[4094], false, 2, null, List.of());

    @Test
    void a_request_llama_cpp_finds_too_long_for_its_slot_is_the_clients_400_context_length_exceeded() {
        ApiError error = requests.failure(new IllegalStateException(NativeRequests.CONTEXT_EXCEEDED
                + ". try increasing the context size or enable context shift"), prepared);

        assertThat(error).isEqualTo(new ApiError.ContextLengthExceeded("messages", 4094, 2, 4096));
        assertThat(error.message()).isEqualTo("This model's context window per request is 4096 tokens. The request needs "
                + "4096 tokens (4094 in the prompt, 2 for the completion). Shorten the prompt or lower max_tokens.");
    }

    @Test
    void a_batch_that_failed_to_decode_is_the_engines_failure_for_every_request_in_it() {
        ApiError error = requests.failure(new IllegalStateException("Input prompt is too big compared to KV size. "
                + "Please try increasing KV size."), prepared);

        assertThat(error).isEqualTo(new ApiError.EngineFailure("The engine failed during generation."));
    }

    @Test
    void any_other_native_failure_is_the_engines_and_names_nothing_internal() {
        ApiError error = requests.failure(new IllegalStateException("std::bad_alloc in llama_decode"), prepared);

        assertThat(error).isEqualTo(new ApiError.EngineFailure("The engine failed during generation."));
        assertThat(error.message()).doesNotContain("bad_alloc");
    }
}
