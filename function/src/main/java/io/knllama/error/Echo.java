package io.knllama.error;

/**
 * A client's value quoted in an error message, cut short: error text never grows with the input it reports on
 * (a 120 KB {@code model} string would otherwise come back, and be kept, in every error that names it).
 */
public final class Echo {

    /** Characters of a value an error message quotes at most. */
    public static final int MAX = 64;

    private Echo() {
    }

    public static String of(String value) {
        if (value == null) {
            return "null";
        }
        if (value.length() <= MAX) {
            return value;
        }
        int end = Character.isHighSurrogate(value.charAt(MAX - 1)) ? MAX - 1 : MAX;
        return value.substring(0, end) + "… (" + value.length() + " characters)";
    }
}
