package io.knllama.inference;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Keeps what people wrote in chat messages literal. llama.cpp tokenizes a prompt with special-token parsing (the
 * binding offers no other way), so a message that says {@code <start_of_turn>} would become that control token
 * and could forge a turn. The chat template's own markup must stay special; message contents must not.
 *
 * <p>Only when a content holds a control token's text does this do anything: it renders the template once more with
 * a sentinel for each content, which shows the markup around each one and whether the template trims contents;
 * rebuilds the prompt from that markup and the contents; checks the result is exactly what the template renders
 * from the real contents; and marks, inside each content, a cut one character into every control token's text.
 * The prompt is tokenized piece by piece between the cuts, so no piece holds a whole control text.
 */
final class LiteralContent {

    /** llama.cpp's {@code trim} in its built-in templates strips what C's {@code isspace} calls space. */
    private static final String TRIMMED = " \t\n\u000B\f\r";
    /** Vertical tab: space to {@code trim}, and never part of a template's markup. */
    private static final char PAD = '\u000B';
    private static final char OPEN = '\uE000';
    private static final char CLOSE = '\uE001';

    /** A rendered prompt and the places (ascending) to cut it before tokenizing; none for most prompts. */
    record Layout(String text, int[] cuts) {
        boolean literal() {
            return cuts.length > 0;
        }
    }

    private final Node root = new Node();
    private final boolean empty;

    LiteralContent(List<String> controlTokens) {
        boolean any = false;
        for (String text : controlTokens) {
            // one code point cannot be cut; no vocabulary we know has such a control token
            if (text.codePointCount(0, text.length()) > 1) {
                Node node = root;
                for (int i = 0; i < text.length(); i++) {
                    node = node.next.computeIfAbsent(text.charAt(i), c -> new Node());
                }
                node.end = true;
                any = true;
            }
        }
        empty = !any;
    }

    /**
     * Renders {@code contents} with {@code render} and finds the cuts that keep them literal.
     *
     * @param render  the chat template applied to the messages with the given contents, in order
     * @param contents the messages' contents
     * @throws ApiException {@code invalid_request} if a content holds a control text and the template changes it
     *                      beyond trimming, so that it cannot be kept literal
     */
    Layout layout(Function<List<String>, String> render, List<String> contents) {
        if (empty || contents.stream().noneMatch(this::holdsControlText)) {
            return new Layout(render.apply(contents), new int[0]);
        }
        List<String> sentinels = new ArrayList<>(contents.size());
        for (int i = 0; i < contents.size(); i++) {
            sentinels.add(PAD + sentinel(i) + PAD);
        }
        String marked = render.apply(sentinels);
        StringBuilder text = new StringBuilder(marked.length() + contents.stream().mapToInt(String::length).sum());
        List<Integer> cuts = new ArrayList<>();
        int from = 0;
        for (int i = 0; i < contents.size(); i++) {
            String sentinel = sentinel(i);
            int at = marked.indexOf(sentinel, from);
            if (at < 0) {
                throw unplaceable(i);
            }
            boolean keepsLeading = at > 0 && marked.charAt(at - 1) == PAD;
            int after = at + sentinel.length();
            boolean keepsTrailing = after < marked.length() && marked.charAt(after) == PAD;
            text.append(marked, from, keepsLeading ? at - 1 : at);
            String content = contents.get(i);
            content = keepsLeading ? content : stripLeading(content);
            content = keepsTrailing ? content : stripTrailing(content);
            int start = text.length();
            for (int cut : cutsIn(content)) {
                cuts.add(start + cut);
            }
            text.append(content);
            from = keepsTrailing ? after + 1 : after;
        }
        text.append(marked, from, marked.length());
        String rebuilt = text.toString();
        if (!rebuilt.equals(render.apply(contents))) {
            throw unplaceable(-1);
        }
        return new Layout(rebuilt, cuts.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Splits {@code text} at the layout's cuts. */
    static List<String> pieces(Layout layout) {
        List<String> pieces = new ArrayList<>(layout.cuts().length + 1);
        int from = 0;
        for (int cut : layout.cuts()) {
            pieces.add(layout.text().substring(from, cut));
            from = cut;
        }
        pieces.add(layout.text().substring(from));
        return pieces;
    }

    boolean holdsControlText(String content) {
        return cutsIn(content).length > 0;
    }

    /** One character into each control text that starts in {@code content} (after a surrogate pair, not inside). */
    private int[] cutsIn(String content) {
        if (empty) {
            return new int[0];
        }
        List<Integer> cuts = new ArrayList<>();
        for (int start = 0; start < content.length(); start++) {
            Node node = root;
            for (int i = start; i < content.length() && node != null; i++) {
                node = node.next.get(content.charAt(i));
                if (node != null && node.end) {
                    cuts.add(start + Character.charCount(content.codePointAt(start)));
                    break;
                }
            }
        }
        return cuts.stream().distinct().mapToInt(Integer::intValue).toArray();
    }

    private static String sentinel(int index) {
        return OPEN + Integer.toString(index) + CLOSE;
    }

    private static String stripLeading(String text) {
        int start = 0;
        while (start < text.length() && TRIMMED.indexOf(text.charAt(start)) >= 0) {
            start++;
        }
        return text.substring(start);
    }

    private static String stripTrailing(String text) {
        int end = text.length();
        while (end > 0 && TRIMMED.indexOf(text.charAt(end - 1)) >= 0) {
            end--;
        }
        return text.substring(0, end);
    }

    private static ApiException unplaceable(int message) {
        String param = message < 0 ? "messages" : "messages[" + message + "].content";
        return new ApiException(new ApiError.InvalidRequest(param, "A message holds the text of one of the model's "
                + "control tokens, and the chat template changes messages in a way that keeps it from being passed "
                + "as plain text."));
    }

    private static final class Node {
        private final Map<Character, Node> next = new HashMap<>(4);
        private boolean end;
    }
}
