package io.knllama.auth;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class ApiKeysTest {

    private static final String FIRST = "sk-first-0123456789abcdef";

    private static ApiKeys keys(String key) {
        return new ApiKeys(new ApiProperties(key, ApiProperties.Routes.ALL, "knllama-api-key", Duration.ZERO));
    }

    private static boolean accepts(ApiKeys keys, String presented) {
        return keys.matches(presented.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void a_replacement_too_short_or_missing_is_refused_and_the_key_in_force_stays() {
        ApiKeys keys = keys(FIRST);

        assertThat(keys.replace("too-short", "test")).contains(
                "the key in test is too short; it must be at least 16 characters, so the key in force stays");
        assertThat(keys.replace(null, "test")).contains(
                "the key in test is missing; it must be at least 16 characters, so the key in force stays");
        assertThat(keys.replace("   \n", "test")).isPresent();

        assertThat(accepts(keys, FIRST)).isTrue();
        assertThat(accepts(keys, "too-short")).isFalse();
    }

    @Test
    void a_replacement_is_the_only_key_accepted_from_then_on() {
        ApiKeys keys = keys(FIRST);

        assertThat(keys.replace("sk-second-0123456789abcdef", "test")).isEmpty();

        assertThat(accepts(keys, "sk-second-0123456789abcdef")).isTrue();
        assertThat(accepts(keys, FIRST)).isFalse();
    }

    @Test
    void a_trailing_newline_as_a_secret_written_from_a_file_has_is_not_part_of_the_key_at_start_or_after_rotation() {
        ApiKeys keys = keys(FIRST + "\n");

        assertThat(accepts(keys, FIRST)).isTrue();
        assertThat(keys.replace("sk-second-0123456789abcdef\n", "test")).isEmpty();
        assertThat(accepts(keys, "sk-second-0123456789abcdef")).isTrue();
    }
}
