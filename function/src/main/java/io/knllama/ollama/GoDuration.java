package io.knllama.ollama;

/**
 * Go's duration syntax ({@code 5m}, {@code 1h30m}, {@code -1s}, {@code .5h}), which Ollama's {@code keep_alive}
 * takes, or a plain number of seconds ({@code "300"}, {@code "-1"}). Read in one pass over the text, without a
 * regular expression: a backtracking matcher took quadratic time (and overflowed its stack) on inputs such as
 * {@code "0m" × 3000 + "1s"}, on Netty's event loop.
 */
final class GoDuration {

    enum Reading { ZERO, NON_ZERO, INVALID }

    private GoDuration() {
    }

    /** Whether {@code text} is a duration, and if so whether it is zero. The value itself is not needed here. */
    static Reading read(String text) {
        int i = 0;
        int end = text.length();
        if (i < end && (text.charAt(i) == '-' || text.charAt(i) == '+')) {
            i++;
        }
        if (i == end) {
            return Reading.INVALID;
        }
        boolean zero = true;
        boolean unitSeen = false;
        while (i < end) {
            int digits = 0;
            while (i < end && isDigit(text.charAt(i))) {
                zero &= text.charAt(i) == '0';
                digits++;
                i++;
            }
            if (i < end && text.charAt(i) == '.') {
                i++;
                while (i < end && isDigit(text.charAt(i))) {
                    zero &= text.charAt(i) == '0';
                    digits++;
                    i++;
                }
            }
            if (digits == 0) {
                return Reading.INVALID;
            }
            int unit = unitLength(text, i);
            if (unit == 0) {
                // A bare number is seconds, but only as the whole text ("300", not "1h300").
                return i == end && !unitSeen ? zero ? Reading.ZERO : Reading.NON_ZERO : Reading.INVALID;
            }
            unitSeen = true;
            i += unit;
        }
        return zero ? Reading.ZERO : Reading.NON_ZERO;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** The length of the unit at {@code i} (ns, us, µs, μs, ms, s, m, h), or 0 when none starts there. */
    private static int unitLength(String text, int i) {
        if (i >= text.length()) {
            return 0;
        }
        char c = text.charAt(i);
        boolean secondFollows = i + 1 < text.length() && text.charAt(i + 1) == 's';
        return switch (c) {
            case 'n', 'u', '\u00b5', '\u03bc' -> secondFollows ? 2 : 0;
            case 'm' -> secondFollows ? 2 : 1;
            case 's', 'h' -> 1;
            default -> 0;
        };
    }
}
