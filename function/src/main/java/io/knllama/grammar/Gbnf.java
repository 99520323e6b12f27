package io.knllama.grammar;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A GBNF grammar (llama.cpp's grammar format) under construction: named rules, written so that what the
 * native parser reads is plain ASCII produced by this class alone.
 *
 * <p>Every literal goes through {@link #literal}, which escapes everything outside printable ASCII, so no
 * text from a request reaches the native parser as raw bytes. Identical rule bodies share one rule, so a
 * schema that repeats a shape (a thousand {@code maxLength: 100} strings) costs one rule, not a thousand.
 *
 * <p>Repetitions ({@code x{m,n}}) are expanded by llama.cpp's parser into one rule per bound, so they are
 * charged to a {@link Budget} when their rule is defined; {@link #render} refuses a grammar that overdraws it.
 */
final class Gbnf {

    /** Limits on what one grammar may cost the native parser and sampler. */
    record Budget(int maxRepetitions, int maxBytes) {
    }

    /** Shared rules that other rules refer to by these names. */
    static final Set<String> PRIMITIVES = Set.of("space", "char", "string", "value", "object", "array", "number",
            "integer", "boolean", "null", "octet");
    /** {m}, {m,} and {m,n}; inside a literal such text is counted too, which only overstates the cost. */
    private static final Pattern REPETITION = Pattern.compile("\\{(\\d{1,9})(,(\\d{0,9}))?}");

    private final Budget budget;
    private final Map<String, String> rules = new LinkedHashMap<>();
    private final Map<String, String> ruleByBody = new HashMap<>();
    private long repetitions;

    Gbnf(Budget budget) {
        this.budget = budget;
    }

    /** A rule with this body, named after {@code hint}; an existing rule with the same body is reused. */
    String rule(String hint, String body) {
        String existing = ruleByBody.get(body);
        if (existing != null) {
            return existing;
        }
        String name = reserve(hint);
        define(name, body);
        return name;
    }

    /**
     * The shared rule {@code name} (one of {@link #PRIMITIVES}, which other rules refer to by name), defined on
     * first use.
     */
    String primitive(String name, String body) {
        if (!PRIMITIVES.contains(name)) {
            throw new IllegalArgumentException(name);
        }
        if (!rules.containsKey(name)) {
            define(name, body);
        }
        return name;
    }

    /** A fresh rule name for a rule defined later (a rule that may refer to itself); never a primitive's name. */
    String reserve(String hint) {
        String base = sanitize(hint);
        String name = base;
        for (int i = 1; rules.containsKey(name) || PRIMITIVES.contains(name); i++) {
            name = base + "-" + i;
        }
        rules.put(name, null);
        return name;
    }

    /** Defines a reserved rule; its repetitions are charged to the budget here, once per distinct rule. */
    void define(String name, String body) {
        rules.put(name, body);
        ruleByBody.putIfAbsent(body, name);
        Matcher bounds = REPETITION.matcher(body);
        while (bounds.find()) {
            long min = Long.parseLong(bounds.group(1));
            String max = bounds.group(3);
            repetitions += bounds.group(2) == null ? min : max.isEmpty() ? min + 1 : Long.parseLong(max);
        }
    }

    /** {@code item{min,max}} ({@code max} null: unbounded), in the shortest form. */
    String repeat(String item, long min, Long max) {
        if (max != null && max == 0) {
            return "";
        }
        String operand = item.matches("[A-Za-z0-9-]+|\"[^\"]*\"|\\[[^\\]]*\\]") ? item : "(" + item + ")";
        if (max == null) {
            return min == 0 ? operand + "*" : min == 1 ? operand + "+" : operand + "{" + min + ",}";
        }
        if (min == 0 && max == 1) {
            return operand + "?";
        }
        return min == max ? operand + "{" + min + "}" : operand + "{" + min + "," + max + "}";
    }

    long repetitions() {
        return repetitions;
    }

    /** The grammar text, {@code root} first; fails if it is over budget. */
    String render(String rootBody) throws GrammarTooLarge {
        if (repetitions > budget.maxRepetitions()) {
            throw new GrammarTooLarge("its repetition bounds (maxLength, maxItems, ...) add up to %d; at most %d are allowed"
                    .formatted(repetitions, budget.maxRepetitions()));
        }
        StringBuilder text = new StringBuilder("root ::= ").append(rootBody).append('\n');
        rules.forEach((name, body) -> {
            if (body == null) {
                throw new IllegalStateException("rule '" + name + "' was reserved but never defined");
            }
            text.append(name).append(" ::= ").append(body).append('\n');
        });
        if (text.length() > budget.maxBytes()) {
            throw new GrammarTooLarge("its grammar would take %d KiB; at most %d KiB are allowed"
                    .formatted(text.length() / 1024, budget.maxBytes() / 1024));
        }
        return text.toString();
    }

    /** The grammar does not fit its {@link Budget}. */
    static final class GrammarTooLarge extends Exception {
        GrammarTooLarge(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * A GBNF string literal matching exactly {@code text}, in printable ASCII: other code points are written
     * as escapes, which the native parser decodes itself.
     *
     * @throws IllegalArgumentException for U+0000, which llama.cpp's matcher treats as the end of input and so
     *                                  could never match (the sampler would then abort the process)
     */
    static String literal(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        text.codePoints().forEach(cp -> appendEscaped(out, cp, true));
        return out.append('"').toString();
    }

    /** A character-class item for one code point, escaped like {@link #literal}'s characters. */
    static String classChar(int cp) {
        StringBuilder out = new StringBuilder();
        appendEscaped(out, cp, false);
        return out.toString();
    }

    private static void appendEscaped(StringBuilder out, int cp, boolean inLiteral) {
        if (cp == 0) {
            throw new IllegalArgumentException("U+0000 cannot be matched by a llama.cpp grammar");
        }
        switch (cp) {
            case '"' -> out.append(inLiteral ? "\\\"" : "\"");
            case '\\' -> out.append("\\\\");
            case '\n' -> out.append("\\n");
            case '\r' -> out.append("\\r");
            case '\t' -> out.append("\\t");
            case '[', ']' -> out.append(inLiteral ? "" : "\\").appendCodePoint(cp);
            // In a class, '-' could form a range and '^' opening it would negate it; b4916 has no escape for either.
            case '-' -> out.append(inLiteral ? "-" : "\\x2D");
            case '^' -> out.append(inLiteral ? "^" : "\\x5E");
            default -> {
                if (cp >= 0x20 && cp < 0x7f) {
                    out.appendCodePoint(cp);
                } else if (cp <= 0xff) {
                    out.append("\\x%02X".formatted(cp));
                } else if (cp <= 0xffff) {
                    out.append("\\u%04X".formatted(cp));
                } else {
                    out.append("\\U%08X".formatted(cp));
                }
            }
        }
    }

    /** Rule names are letters, digits and '-' in llama.cpp's grammar format. */
    private static String sanitize(String hint) {
        StringBuilder name = new StringBuilder();
        for (int i = 0; i < hint.length() && name.length() < 40; i++) {
            char c = hint.charAt(i);
            boolean word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (word) {
                name.append(c);
            } else if (!name.isEmpty() && name.charAt(name.length() - 1) != '-') {
                name.append('-');
            }
        }
        while (!name.isEmpty() && name.charAt(name.length() - 1) == '-') {
            name.setLength(name.length() - 1);
        }
        String result = name.isEmpty() ? "r" : name.toString();
        return result.equals("root") ? "root-1" : result;
    }
}
