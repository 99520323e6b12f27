package io.knllama.grammar;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Grammar expressions for JSON numbers between bounds, built digit by digit: {@code [13, 472]} becomes
 * "1" [3-9] | [2-9] [0-9] | [1-3] [0-9]{2} | "4" ([0-6] [0-9] | "7" [0-2]). Bounded numbers are written
 * without an exponent; the integral part has at most {@value #MAX_DIGITS} digits, so callers keep bounds
 * within ±{@link #MAX_BOUND}.
 */
final class NumberRanges {

    static final int MAX_DIGITS = 16;
    static final BigInteger MAX_BOUND = BigInteger.TEN.pow(MAX_DIGITS - 1);

    /** Any JSON number, with at most 16 digits before and after the point and a two-digit exponent. */
    static final String ANY_NUMBER = "\"-\"? ([0] | [1-9] [0-9]{0,15}) (\".\" [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?";
    /** Any JSON integer of at most 16 digits. */
    static final String ANY_INTEGER = "\"-\"? ([0] | [1-9] [0-9]{0,15})";

    private static final String ANY_FRACTION = "(\".\" [0-9]{1,16})?";
    private static final String ZERO_FRACTION = "(\".\" [0]{1,16})?";
    private static final String NONZERO_FRACTION = "\".\" [0]{0,15} [1-9] [0-9]{0,15}";

    private NumberRanges() {
    }

    /**
     * The numbers (or, with {@code integer}, the integers) in the range; a {@code null} bound is open-ended.
     * Returns {@code null} when no number is in it.
     */
    static String between(BigInteger low, boolean lowExclusive, BigInteger high, boolean highExclusive, boolean integer) {
        List<String> alternatives = new ArrayList<>();
        if (high == null || high.signum() >= 0) {
            boolean lowIsNonNegative = low != null && low.signum() >= 0;
            String nonNegative = magnitude(lowIsNonNegative ? low : BigInteger.ZERO, lowIsNonNegative && lowExclusive,
                    high, highExclusive, integer);
            if (nonNegative != null) {
                alternatives.add(nonNegative);
            }
        }
        if (low == null || low.signum() < 0) {
            // value = -m: value <= high means m >= -high, value >= low means m <= -low, and value < 0 means m > 0.
            boolean highIsNegative = high != null && high.signum() < 0;
            String negative = magnitude(highIsNegative ? high.negate() : BigInteger.ZERO, !highIsNegative || highExclusive,
                    low == null ? null : low.negate(), lowExclusive, integer);
            if (negative != null) {
                alternatives.add("\"-\" " + group(negative));
            }
        }
        return alternatives.isEmpty() ? null : String.join(" | ", alternatives);
    }

    /** Non-negative numbers in the range from {@code a} to {@code b} (null: unbounded). */
    private static String magnitude(BigInteger a, boolean aOpen, BigInteger b, boolean bOpen, boolean integer) {
        if (integer) {
            BigInteger from = aOpen ? a.add(BigInteger.ONE) : a;
            BigInteger to = b == null ? null : bOpen ? b.subtract(BigInteger.ONE) : b;
            return naturals(from, to);
        }
        List<String> alternatives = new ArrayList<>();
        if (b != null && a.compareTo(b) >= 0) {
            if (a.equals(b) && !aOpen && !bOpen) {
                alternatives.add(Gbnf.literal(a.toString()) + " " + ZERO_FRACTION);
            }
        } else {
            BigInteger anyFrom = a;
            if (aOpen) {
                alternatives.add(Gbnf.literal(a.toString()) + " " + NONZERO_FRACTION);
                anyFrom = a.add(BigInteger.ONE);
            }
            String whole = naturals(anyFrom, b == null ? null : b.subtract(BigInteger.ONE));
            if (whole != null) {
                alternatives.add(group(whole) + " " + ANY_FRACTION);
            }
            if (b != null && !bOpen) {
                alternatives.add(Gbnf.literal(b.toString()) + " " + ZERO_FRACTION);
            }
        }
        return alternatives.isEmpty() ? null : String.join(" | ", alternatives);
    }

    /** Decimal integers without leading zeros from {@code low} to {@code high} (null: unbounded), or null if none. */
    static String naturals(BigInteger low, BigInteger high) {
        if (high != null && low.compareTo(high) > 0) {
            return null;
        }
        String lo = low.toString();
        List<String> alternatives = new ArrayList<>();
        int lastLength = high == null ? lo.length() : high.toString().length();
        for (int length = lo.length(); length <= lastLength; length++) {
            String from = length == lo.length() ? lo : "1" + "0".repeat(length - 1);
            String to = high != null && length == lastLength ? high.toString() : "9".repeat(length);
            alternatives.add(sameLength(from, to));
        }
        if (high == null && lo.length() < MAX_DIGITS) {
            alternatives.add("[1-9] [0-9]{" + lo.length() + "," + (MAX_DIGITS - 1) + "}");
        }
        return String.join(" | ", alternatives);
    }

    /** Numbers from {@code a} to {@code b}, both written with the same number of digits. */
    private static String sameLength(String a, String b) {
        if (a.equals(b)) {
            return Gbnf.literal(a);
        }
        int n = a.length();
        char first = a.charAt(0);
        char last = b.charAt(0);
        if (n == 1) {
            return "[" + first + "-" + last + "]";
        }
        if (first == last) {
            return Gbnf.literal(String.valueOf(first)) + " " + group(sameLength(a.substring(1), b.substring(1)));
        }
        List<String> alternatives = new ArrayList<>();
        String rest = n == 2 ? "[0-9]" : "[0-9]{" + (n - 1) + "}";
        char middleFrom = first;
        char middleTo = last;
        if (!a.substring(1).chars().allMatch(c -> c == '0')) {
            alternatives.add(Gbnf.literal(String.valueOf(first)) + " " + group(sameLength(a.substring(1), "9".repeat(n - 1))));
            middleFrom++;
        }
        boolean lastPartial = !b.substring(1).chars().allMatch(c -> c == '9');
        if (lastPartial) {
            middleTo--;
        }
        if (middleFrom <= middleTo) {
            alternatives.add((middleFrom == middleTo ? "[" + middleFrom + "]" : "[" + middleFrom + "-" + middleTo + "]") + " " + rest);
        }
        if (lastPartial) {
            alternatives.add(Gbnf.literal(String.valueOf(last)) + " " + group(sameLength("0".repeat(n - 1), b.substring(1))));
        }
        return String.join(" | ", alternatives);
    }

    private static String group(String expression) {
        return expression.contains("|") ? "(" + expression + ")" : expression;
    }
}
