package io.knllama.ollama;

import io.knllama.ollama.GoDuration.Reading;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class GoDurationTest {

    @ParameterizedTest
    @ValueSource(strings = {"5m", "1h30m", "-1s", "+2h", "1.5h", ".5s", "5.s", "300ms", "10us", "10µs", "10μs", "7ns",
            "1h0m0s", "300", "-1", "2.5", "0m1s"})
    void go_durations_and_plain_seconds_that_are_not_zero(String text) {
        assertThat(GoDuration.read(text)).isEqualTo(Reading.NON_ZERO);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-0", "0s", "0m", "0h0m0s", "0.000s", "00", "0.0", "-0ms"})
    void zero_in_any_spelling(String text) {
        assertThat(GoDuration.read(text)).isEqualTo(Reading.ZERO);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-", "forever", "5 m", "m", "5d", "1h300", "5mm", ".s", "1.2.3s", "--1s", "1e3s", "s5",
            "５m", "1h-1m"})
    void anything_else_is_not_a_duration(String text) {
        assertThat(GoDuration.read(text)).isEqualTo(Reading.INVALID);
    }

    @Test
    void inputs_that_made_a_backtracking_regex_overflow_or_run_for_seconds_are_read_in_one_pass() {
        assertThat(GoDuration.read("0m".repeat(3000) + "1s")).isEqualTo(Reading.NON_ZERO);
        assertThat(GoDuration.read("0m".repeat(1_000_000))).isEqualTo(Reading.ZERO);
        assertThat(GoDuration.read("0".repeat(1_000_000) + "1s")).isEqualTo(Reading.NON_ZERO);
        assertThat(GoDuration.read("0".repeat(1_000_000) + "x")).isEqualTo(Reading.INVALID);
    }
}
