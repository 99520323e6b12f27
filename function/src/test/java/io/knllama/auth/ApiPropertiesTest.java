package io.knllama.auth;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ApiPropertiesTest {

    @Test
    void the_printed_properties_say_a_key_is_set_but_never_show_it() {
        String printed = new ApiProperties("sk-test-0123456789abcdef", ApiProperties.Routes.ALL, null, java.time.Duration.ZERO).toString();

        assertThat(printed).doesNotContain("sk-test").doesNotContain("0123456789abcdef").contains("redacted");
        assertThat(new ApiProperties(null, ApiProperties.Routes.EVENTS, null, java.time.Duration.ZERO).toString()).contains("unset");
    }
}
