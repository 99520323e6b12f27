package io.knllama.request;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.micronaut.json.JsonMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class RequestFieldsTest {

    private static final JsonMapper JSON = JsonMapper.createDefault();

    private static RequestFields fields(String body) {
        return RequestFields.body(RequestFields.parse(JSON, body.getBytes(StandardCharsets.UTF_8)));
    }

    private static ApiError refusal(Runnable parse) {
        return catchThrowableOfType(ApiException.class, parse::run).error();
    }

    @ParameterizedTest
    @ValueSource(strings = {"9223372036854775808", "-9223372036854775809", "18446744073709551616", "9223372036854775807.5",
            "1e19", "-1e19", "1e400", "123456789012345678901234567890"})
    void an_integer_beyond_the_range_of_a_long_is_a_400_naming_it_not_an_arithmetic_failure(String seed) {
        ApiError error = refusal(() -> fields("{\"seed\":" + seed + "}").integer("seed", Long.MIN_VALUE, Long.MAX_VALUE));

        assertThat(error.status()).isEqualTo(400);
        assertThat(error.param()).isEqualTo("seed");
        assertThat(error.code()).isIn("invalid_value", "invalid_type");
    }

    @ParameterizedTest
    @CsvSource({"9223372036854775807, 9223372036854775807", "-9223372036854775808, -9223372036854775808", "3.0, 3", "1e3, 1000",
            "0, 0"})
    void an_integer_at_the_edges_of_its_range_is_read_exactly(String sent, long read) {
        assertThat(fields("{\"seed\":" + sent + "}").integer("seed", Long.MIN_VALUE, Long.MAX_VALUE)).contains(read);
    }

    @ParameterizedTest
    @CsvSource({"11, invalid_value", "1.5, invalid_type", "-1, invalid_value", "\"1\", invalid_type"})
    void an_integer_outside_its_bounds_or_not_whole_is_refused_with_the_exact_code(String sent, String code) {
        ApiError error = refusal(() -> fields("{\"n\":" + sent + "}").integer("n", 0, 10));

        assertThat(error.param()).isEqualTo("n");
        assertThat(error.code()).isEqualTo(code);
    }

    @Test
    void a_made_up_parameter_name_is_named_cut_short_in_the_param_and_the_message() {
        String name = "k".repeat(40_000);

        ApiError error = refusal(() -> fields("{\"" + name + "\":1}").allowOnly(java.util.Set.of("model")));

        assertThat(error.code()).isEqualTo("unknown_parameter");
        assertThat(error.param()).startsWith("kkkk").hasSizeLessThan(100);
        assertThat(error.message()).hasSizeLessThan(300);
    }
}
