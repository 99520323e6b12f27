import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The engine-overhead comparison: the binding alone (EngineHarness) against the function over HTTP, judged
 * by issue #6's targets: the function delivers at least 95% of the binding's single-stream tokens/s, and its
 * time to first token is within 10 ms of the binding's. EngineHarness calls it when given --function-url;
 * run on its own, it prints the comparison of saved harness results again, with the median over several:
 *
 * <pre>
 * java scripts/bench/EngineOverhead.java RESULT.json [RESULT.json ...]
 * </pre>
 */
public final class EngineOverhead {

    static final double MIN_TOKENS_RATIO = 0.95;
    static final double MAX_TTFT_DIFF_MS = 10;

    public static void main(String[] args) {
        if (args.length == 0 || args[0].startsWith("-")) {
            fail("usage: java scripts/bench/EngineOverhead.java RESULT.json [RESULT.json ...] (EngineHarness --function-url results)");
        }
        List<Map<String, Object>> rounds = new ArrayList<>();
        for (String file : args) {
            Map<String, Object> result = read(Path.of(file));
            if (!(result.get("comparison") instanceof Map<?, ?> comparison)) {
                fail(file + " has no comparison: was EngineHarness run with --function-url?");
                return;
            }
            @SuppressWarnings("unchecked") Map<String, Object> c = (Map<String, Object>) comparison;
            System.out.print((args.length > 1 ? file + "\n" : "") + table(c));
            rounds.add(c);
        }
        System.out.print(verdictLine(verdict(rounds), rounds.size()));
    }

    static String verdictLine(Map<String, Object> verdict, int rounds) {
        return String.format("%nfunction / binding%s: single-stream tokens/s %.1f%% (target >= %.0f%%: %s),"
                        + " TTFT p50 %+.1f ms (target <= +%.0f ms: %s)%n",
                rounds > 1 ? ", median of " + rounds + " runs" : "", 100 * (double) verdict.get("tokens_ratio"),
                100 * MIN_TOKENS_RATIO, (boolean) verdict.get("tokens_met") ? "met" : "NOT MET",
                (double) verdict.get("ttft_diff_ms"), MAX_TTFT_DIFF_MS, (boolean) verdict.get("ttft_met") ? "met" : "NOT MET");
    }

    static Map<String, Object> compare(Map<String, Object> engine, Map<String, Object> function) {
        Map<String, Object> c = new LinkedHashMap<>();
        for (String metric : List.of("tokens_per_request", "ttft_ms", "stream_tokens_per_s", "e2e_ms", "itl_ms")) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("engine", Stats.get(engine, metric, "p50"));
            row.put("function", Stats.get(function, metric, "p50"));
            c.put(metric, row);
        }
        // Tokens over the whole request, prefill included: what a single caller experiences end to end.
        Map<String, Object> e2eRate = new LinkedHashMap<>();
        e2eRate.put("engine", Stats.get(engine, "tokens_per_request", null) / Stats.get(engine, "e2e_ms", "p50") * 1000);
        e2eRate.put("function", Stats.get(function, "tokens_per_request", null) / Stats.get(function, "e2e_ms", "p50") * 1000);
        c.put("request_tokens_per_s", e2eRate);
        c.put("tokens_ratio", ratio(c, "stream_tokens_per_s"));
        c.put("request_tokens_ratio", ratio(c, "request_tokens_per_s"));
        c.put("ttft_diff_ms", value(c, "ttft_ms", "function") - value(c, "ttft_ms", "engine"));
        c.put("tokens_counted", "engine: binding outputs; function: usage.completion_tokens (" + function.get("tokens_from") + ")");
        return c;
    }

    static String table(Map<String, Object> c) {
        StringBuilder t = new StringBuilder();
        t.append("%-36s %12s %12s %14s%n".formatted("", "binding", "function", "function/binding"));
        row(t, c, "tokens per request (mean)", "tokens_per_request", "%.1f", null);
        row(t, c, "TTFT p50 (ms)", "ttft_ms", "%.1f", "%+.1f ms".formatted((double) c.get("ttft_diff_ms")));
        row(t, c, "single-stream tokens/s p50 (decode)", "stream_tokens_per_s", "%.1f", "%.1f%%".formatted(100 * (double) c.get("tokens_ratio")));
        row(t, c, "tokens/s incl. prefill (tok/E2E p50)", "request_tokens_per_s", "%.1f",
                "%.1f%%".formatted(100 * (double) c.get("request_tokens_ratio")));
        row(t, c, "inter-token p50 (ms)", "itl_ms", "%.2f", null);
        row(t, c, "end-to-end p50 (ms)", "e2e_ms", "%.1f", null);
        if (Math.abs(value(c, "tokens_per_request", "engine") - value(c, "tokens_per_request", "function")) > 0.5) {
            t.append("warning: the two sides produced different token counts: they did not generate the same text\n");
        }
        return t.toString();
    }

    private static void row(StringBuilder t, Map<String, Object> c, String label, String metric, String format, String relation) {
        t.append("%-36s %12s %12s %14s%n".formatted(label, format.formatted(value(c, metric, "engine")),
                format.formatted(value(c, metric, "function")), relation == null ? "" : relation));
    }

    static Map<String, Object> verdict(List<Map<String, Object>> rounds) {
        double tokens = median(rounds.stream().mapToDouble(r -> (double) r.get("tokens_ratio")).toArray());
        double ttft = median(rounds.stream().mapToDouble(r -> (double) r.get("ttft_diff_ms")).toArray());
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("tokens_ratio", tokens);
        v.put("tokens_met", tokens >= MIN_TOKENS_RATIO);
        v.put("ttft_diff_ms", ttft);
        v.put("ttft_met", ttft <= MAX_TTFT_DIFF_MS);
        return v;
    }

    private static double ratio(Map<String, Object> c, String metric) {
        return value(c, metric, "function") / value(c, metric, "engine");
    }

    @SuppressWarnings("unchecked")
    private static double value(Map<String, Object> c, String metric, String side) {
        return ((Number) ((Map<String, Object>) c.get(metric)).get(side)).doubleValue();
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return Stats.percentile(s, 50);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> read(Path file) {
        try {
            return (Map<String, Object>) Json.parse(Files.readString(file));
        } catch (IOException | IllegalArgumentException | ClassCastException e) {
            fail("cannot read " + file + ": " + e.getMessage());
            return null;
        }
    }

    private static void fail(String message) {
        System.err.println("engine overhead: " + message);
        System.exit(2);
    }
}
