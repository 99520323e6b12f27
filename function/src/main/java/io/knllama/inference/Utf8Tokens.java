package io.knllama.inference;

/**
 * What the native generation loop does not report one by one: llama.cpp sends a token's text only once it
 * ends on a whole UTF-8 character, so a character spelled with several byte tokens arrives as one output.
 */
final class Utf8Tokens {

    /**
     * Tokens that may have been generated after the last output without ever being sent: a generation cut off
     * by its token limit inside a character drops the unfinished bytes. (An answer that the model ends sends
     * its end-of-text token as an empty output, so it never ends on text with tokens unsent.)
     */
    static final int MAX_UNSENT_AT_END = 3;

    private Utf8Tokens() {
    }

    /**
     * At most how many tokens may have arrived without an output of their own inside {@code text}: one less
     * than the bytes of each non-ASCII character, and up to three for each replacement character (bytes that
     * never formed a character).
     */
    static int mayHideTokens(String text) {
        int hidden = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            hidden += cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp == 0xFFFD ? 3 : cp < 0x10000 ? 2 : 3;
            i += Character.charCount(cp);
        }
        return hidden;
    }
}
