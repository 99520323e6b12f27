package io.knllama.inference;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class NativeTextTest {

    @Test
    void replaces_unpaired_surrogates_and_keeps_pairs() {
        assertThat(NativeText.wellFormed("a\ud800b")).isEqualTo("a\ufffdb");
        assertThat(NativeText.wellFormed("\udc00")).isEqualTo("\ufffd");
        assertThat(NativeText.wellFormed("end\ud83e")).isEqualTo("end\ufffd");
        assertThat(NativeText.wellFormed("llama \ud83e\udd99 \ud800")).isEqualTo("llama \ud83e\udd99 \ufffd");
    }

    @Test
    void returns_well_formed_text_unchanged() {
        String text = "plain, ünïcödé and \ud83e\udd99";
        assertThat(NativeText.wellFormed(text)).isSameAs(text);
    }
}
