package io.knllama.error;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ApiErrorTest {

    @Test
    void an_engine_failure_tells_the_client_a_stable_message_and_keeps_the_cause_for_the_log() {
        ApiError error = new ApiError.EngineFailure("The engine failed: java.lang.IllegalStateException: slot 3 is gone");

        assertThat(error.message()).isEqualTo("The server failed to process this request; the server's log has the details.");
        assertThat(((ApiError.EngineFailure) error).detail()).contains("IllegalStateException");
        assertThat(error.status()).isEqualTo(500);
        assertThat(error.code()).isEqualTo("engine_error");
    }

    @Test
    void an_unknown_model_name_is_quoted_cut_short_however_long_it_was_sent() {
        String model = "m".repeat(120_000);

        String message = new ApiError.ModelNotFound(model, "tiny").message();

        assertThat(message).hasSizeLessThan(200).contains("m".repeat(Echo.MAX)).contains("120000 characters").contains("'tiny'");
    }

    @Test
    void an_echo_never_splits_a_surrogate_pair() {
        String llamas = "\ud83e\udd99".repeat(100);

        String echoed = Echo.of(llamas);

        assertThat(echoed).startsWith("\ud83e\udd99".repeat(Echo.MAX / 2 - 1));
        assertThat(Character.isHighSurrogate(echoed.charAt(echoed.indexOf('…') - 1))).isFalse();
        assertThat(Echo.of("short")).isEqualTo("short");
    }
}
