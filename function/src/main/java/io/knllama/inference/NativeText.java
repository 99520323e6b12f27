package io.knllama.inference;

/**
 * Text on its way into llama.cpp. JSON may carry unpaired UTF-16 surrogates ({@code "\ud800"}), which
 * Java strings hold but UTF-8 cannot encode; llama.cpp's JSON parser throws on them, and the binding
 * lets that C++ exception terminate the process. Replacing them with U+FFFD, as any UTF-8 encoder
 * would, keeps the rest of the text intact.
 */
final class NativeText {

    private NativeText() {
    }

    static String wellFormed(String text) {
        int length = text.length();
        for (int i = 0; i < length; i++) {
            char c = text.charAt(i);
            if (Character.isSurrogate(c) && !(Character.isHighSurrogate(c) && i + 1 < length
                    && Character.isLowSurrogate(text.charAt(i + 1)))) {
                return replaceUnpaired(text);
            }
            if (Character.isHighSurrogate(c)) {
                i++;
            }
        }
        return text;
    }

    private static String replaceUnpaired(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                out.append(c).append(text.charAt(++i));
            } else {
                out.append(Character.isSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return out.toString();
    }
}
