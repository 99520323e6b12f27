package io.knllama.grammar;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A GBNF recognizer for tests: parses the subset of llama.cpp's grammar format that {@link Gbnf} writes
 * (rules, alternatives, literals, character classes with escapes, groups, {@code ? * + {m} {m,} {m,n}},
 * rule references) and says whether a text is in the language of {@code root}. It is as strict as the parser of
 * llama.cpp b4916, which matters because b4916 does not refuse a grammar it cannot parse: it generates without
 * one. An escape it does not know ({@code \\-} among them), a raw non-ASCII or control character, an undefined
 * rule or an unbalanced group fails the parse here.
 */
final class GbnfMatcher {

    private sealed interface Node {
    }

    private record Alt(List<Seq> options) implements Node {
    }

    private record Seq(List<Item> items) implements Node {
    }

    private record Item(Node atom, int min, int max) implements Node {
    }

    private record Lit(int[] codePoints) implements Node {
    }

    private record Cls(List<int[]> ranges, boolean negated) implements Node {
    }

    private record Ref(String name) implements Node {
    }

    private final Map<String, Alt> rules = new HashMap<>();
    private String src;
    private int pos;
    private int[] text;
    /** Running out of text counts as a match: whatever follows could still come. */
    private boolean prefix;
    private final Map<Long, TreeSet<Integer>> memo = new HashMap<>();
    private final Map<Node, Integer> ids = new HashMap<>();

    private GbnfMatcher() {
    }

    static GbnfMatcher parse(String grammar) {
        GbnfMatcher matcher = new GbnfMatcher();
        for (String line : grammar.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            int sep = line.indexOf(" ::= ");
            if (sep < 0 || !line.substring(0, sep).matches("[A-Za-z0-9-]+")) {
                throw new IllegalArgumentException("not a rule: " + line);
            }
            matcher.src = line.substring(sep + 5);
            matcher.pos = 0;
            Alt body = matcher.alternatives();
            if (matcher.pos != matcher.src.length()) {
                throw new IllegalArgumentException("trailing text in: " + line + " at " + matcher.pos);
            }
            if (matcher.rules.put(line.substring(0, sep), body) != null) {
                throw new IllegalArgumentException("rule defined twice: " + line);
            }
        }
        if (!matcher.rules.containsKey("root")) {
            throw new IllegalArgumentException("no root rule");
        }
        matcher.rules.values().forEach(matcher::checkRefs);
        return matcher;
    }

    boolean matches(String input) {
        return match(input, false);
    }

    /** Whether {@code input} is the start of some text the grammar matches (an answer cut off by a token limit). */
    boolean matchesPrefix(String input) {
        return match(input, true);
    }

    private boolean match(String input, boolean prefixOnly) {
        text = input.codePoints().toArray();
        prefix = prefixOnly;
        memo.clear();
        return ends(new Ref("root"), 0).contains(text.length);
    }

    // --- parsing ---

    private Alt alternatives() {
        List<Seq> options = new ArrayList<>();
        options.add(sequence());
        while (peek('|')) {
            pos++;
            skipSpace();
            options.add(sequence());
        }
        return new Alt(options);
    }

    private Seq sequence() {
        List<Item> items = new ArrayList<>();
        skipSpace();
        while (pos < src.length() && src.charAt(pos) != '|' && src.charAt(pos) != ')') {
            Node atom = atom();
            int min = 1;
            int max = 1;
            if (peek('?')) {
                pos++;
                min = 0;
            } else if (peek('*')) {
                pos++;
                min = 0;
                max = Integer.MAX_VALUE;
            } else if (peek('+')) {
                pos++;
                max = Integer.MAX_VALUE;
            } else if (peek('{')) {
                int close = src.indexOf('}', pos);
                String[] bounds = src.substring(pos + 1, close).split(",", -1);
                min = Integer.parseInt(bounds[0]);
                max = bounds.length == 1 ? min : bounds[1].isEmpty() ? Integer.MAX_VALUE : Integer.parseInt(bounds[1]);
                pos = close + 1;
            }
            items.add(new Item(atom, min, max));
            skipSpace();
        }
        return new Seq(items);
    }

    private Node atom() {
        char c = src.charAt(pos);
        if (c == '"') {
            pos++;
            List<Integer> cps = new ArrayList<>();
            while (src.charAt(pos) != '"') {
                cps.add(character());
            }
            pos++;
            return new Lit(cps.stream().mapToInt(Integer::intValue).toArray());
        }
        if (c == '[') {
            pos++;
            boolean negated = peek('^');
            if (negated) {
                pos++;
            }
            List<int[]> ranges = new ArrayList<>();
            while (src.charAt(pos) != ']') {
                int from = character();
                int to = from;
                if (src.charAt(pos) == '-' && src.charAt(pos + 1) != ']') {
                    pos++;
                    to = character();
                }
                ranges.add(new int[] {from, to});
            }
            pos++;
            return new Cls(ranges, negated);
        }
        if (c == '(') {
            pos++;
            Alt inner = alternatives();
            if (!peek(')')) {
                throw new IllegalArgumentException("unbalanced group in " + src);
            }
            pos++;
            return inner;
        }
        int start = pos;
        while (pos < src.length() && (Character.isLetterOrDigit(src.charAt(pos)) || src.charAt(pos) == '-')) {
            pos++;
        }
        if (start == pos) {
            throw new IllegalArgumentException("unexpected '" + c + "' in " + src);
        }
        return new Ref(src.substring(start, pos));
    }

    private int character() {
        char c = src.charAt(pos);
        if (c != '\\') {
            int cp = src.codePointAt(pos);
            if (cp < 0x20 || cp > 0x7e) {
                throw new IllegalArgumentException("raw non-printable character in grammar: " + cp);
            }
            pos += Character.charCount(cp);
            return cp;
        }
        char e = src.charAt(pos + 1);
        pos += 2;
        return switch (e) {
            case 'x' -> hex(2);
            case 'u' -> hex(4);
            case 'U' -> hex(8);
            case 't' -> '\t';
            case 'r' -> '\r';
            case 'n' -> '\n';
            case '\\', '"', '[', ']' -> e; // b4916 knows no other escape: "\\-" fails its parse
            default -> throw new IllegalArgumentException("unknown escape \\" + e);
        };
    }

    private int hex(int digits) {
        int value = Integer.parseInt(src.substring(pos, pos + digits), 16);
        pos += digits;
        return value;
    }

    private boolean peek(char c) {
        return pos < src.length() && src.charAt(pos) == c;
    }

    private void skipSpace() {
        while (pos < src.length() && src.charAt(pos) == ' ') {
            pos++;
        }
    }

    private void checkRefs(Node node) {
        switch (node) {
            case Alt alt -> alt.options().forEach(this::checkRefs);
            case Seq seq -> seq.items().forEach(this::checkRefs);
            case Item item -> checkRefs(item.atom());
            case Ref ref -> {
                if (!rules.containsKey(ref.name())) {
                    throw new IllegalArgumentException("undefined rule " + ref.name());
                }
            }
            default -> {
            }
        }
    }

    // --- matching: the set of positions where `node` can end when it starts at `at` ---

    private TreeSet<Integer> ends(Node node, int at) {
        long key = ((long) ids.computeIfAbsent(node, n -> ids.size()) << 32) | at;
        TreeSet<Integer> cached = memo.get(key);
        if (cached != null) {
            return cached;
        }
        TreeSet<Integer> result = new TreeSet<>();
        memo.put(key, result); // no left recursion in what Gbnf writes; a loop would just see no ends
        switch (node) {
            case Ref ref -> result.addAll(ends(rules.get(ref.name()), at));
            case Alt alt -> alt.options().forEach(option -> result.addAll(ends(option, at)));
            case Seq seq -> {
                TreeSet<Integer> positions = new TreeSet<>(List.of(at));
                for (Item item : seq.items()) {
                    TreeSet<Integer> next = new TreeSet<>();
                    positions.forEach(p -> next.addAll(ends(item, p)));
                    positions = next;
                }
                result.addAll(positions);
            }
            case Item item -> {
                TreeSet<Integer> positions = new TreeSet<>(List.of(at));
                if (item.min() == 0) {
                    result.add(at);
                }
                // Every pass that matches consumes a character, except an atom that can match nothing, which
                // cannot take more passes than there are characters to reach a new position.
                int passes = (int) Math.min(item.max(), Math.max(item.min(), text.length + 1L));
                for (int count = 1; count <= passes && !positions.isEmpty(); count++) {
                    TreeSet<Integer> next = new TreeSet<>();
                    positions.forEach(p -> next.addAll(ends(item.atom(), p)));
                    positions = next;
                    if (count >= item.min()) {
                        result.addAll(positions);
                    }
                }
            }
            case Lit lit -> {
                int p = at;
                for (int cp : lit.codePoints()) {
                    if (p >= text.length && prefix) {
                        break;
                    }
                    if (p >= text.length || text[p] != cp) {
                        return result;
                    }
                    p++;
                }
                result.add(p);
            }
            case Cls cls -> {
                if (at == text.length && prefix) {
                    result.add(at);
                } else if (at < text.length) {
                    int cp = text[at];
                    boolean in = cls.ranges().stream().anyMatch(r -> cp >= r[0] && cp <= r[1]);
                    if (in != cls.negated()) {
                        result.add(at + 1);
                    }
                }
            }
        }
        return result;
    }
}
