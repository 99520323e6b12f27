import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The plain-text tables printed at the end of a run. */
final class Report {

    private Report() {
    }

    static String table(Options options, List<StreamClient.Target> targets, List<Map<String, Object>> sweep,
                        List<Map<String, Object>> rated) {
        StringBuilder out = new StringBuilder();
        String title = options.label().isBlank() ? "" : options.label() + ": ";
        out.append("%s%s streams, max_tokens %d, temperature %s; times in ms; tokens from %s%n".formatted(title,
                options.api() == StreamClient.Api.CHAT ? "chat" : "completions", options.maxTokens(), options.temperature(),
                tokenSources(sweep, rated)));
        for (StreamClient.Target t : targets) {
            out.append("  %-12s %s  model %s%s%n".formatted(t.name(), t.base(), t.model(),
                    t.extraBody().isEmpty() ? "" : "  extra " + Json.compact(t.extraBody())));
        }
        if (!sweep.isEmpty()) {
            out.append("\nClosed loop (concurrency sweep)\n");
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"target", "conc", "ok", "shed", "err", "req/s", "out tok/s", "TTFT p50", "p90", "p99",
                    "ITL p50", "p90", "p99", "E2E p50", "p90", "p99", "tok/s/stream", "tok/req"});
            for (Map<String, Object> r : sweep) {
                rows.add(new String[] {(String) r.get("target"), r.get("concurrency").toString(), r.get("ok").toString(),
                        r.get("shed").toString(), r.get("errors").toString(), f(r, "req_per_s", null, 2),
                        f(r, "output_tokens_per_s", null, 1), f(r, "ttft_ms", "p50", 0), f(r, "ttft_ms", "p90", 0),
                        f(r, "ttft_ms", "p99", 0), f(r, "itl_ms", "p50", 1), f(r, "itl_ms", "p90", 1), f(r, "itl_ms", "p99", 1),
                        f(r, "e2e_ms", "p50", 0), f(r, "e2e_ms", "p90", 0), f(r, "e2e_ms", "p99", 0),
                        f(r, "stream_tokens_per_s", "p50", 1), f(r, "tokens_per_request", null, 1)});
            }
            out.append(grid(rows));
            if (targets.size() > 1) {
                out.append(comparison(targets, sweep));
            }
        }
        if (!rated.isEmpty()) {
            out.append("\nOpen loop (fixed arrival rate)\n");
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"target", "rate/s", "arrival", "sent", "ok", "shed", "err", "not sent", "req/s", "out tok/s",
                    "TTFT p50", "p90", "p99", "E2E p50", "p90", "p99", "shed p50", "shed max"});
            for (Map<String, Object> r : rated) {
                rows.add(new String[] {(String) r.get("target"), "%.3g".formatted((double) r.get("rate")),
                        (String) r.get("arrival"), r.get("requests").toString(), r.get("ok").toString(), r.get("shed").toString(),
                        r.get("errors").toString(), r.get("not_sent").toString(), f(r, "req_per_s", null, 2),
                        f(r, "output_tokens_per_s", null, 1), f(r, "ttft_ms", "p50", 0), f(r, "ttft_ms", "p90", 0),
                        f(r, "ttft_ms", "p99", 0), f(r, "e2e_ms", "p50", 0), f(r, "e2e_ms", "p90", 0), f(r, "e2e_ms", "p99", 0),
                        f(r, "shed_ms", "p50", 1), f(r, "shed_ms", "max", 1)});
            }
            out.append(grid(rows));
        }
        List<String> errors = new ArrayList<>();
        for (Map<String, Object> r : concat(sweep, rated)) {
            if (r.get("first_errors") instanceof List<?> list) {
                for (Object e : list) {
                    errors.add("  %s %s: %s".formatted(r.get("target"),
                            r.containsKey("concurrency") ? "c=" + r.get("concurrency") : "rate=" + r.get("rate"), e));
                }
            }
        }
        if (!errors.isEmpty()) {
            out.append("\nErrors (first of each kind)\n").append(String.join("\n", errors)).append('\n');
        }
        out.append("""

                TTFT: request sent to the first chunk with text. ITL: between chunks with text. E2E: to [DONE].
                out tok/s: all tokens of finished requests / wall time; tok/s/stream: (tokens - 1) / (last - first chunk).
                """);
        return out.toString();
    }

    /** Each other target against the first, level by level: the side-by-side figures a comparison is for. */
    private static String comparison(List<StreamClient.Target> targets, List<Map<String, Object>> sweep) {
        String base = targets.getFirst().name();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"target", "conc", "out tok/s vs " + base, "tok/s/stream vs " + base, "TTFT p50 diff ms",
                "E2E p50 vs " + base});
        for (Map<String, Object> r : sweep) {
            if (r.get("target").equals(base)) {
                continue;
            }
            Map<String, Object> b = sweep.stream().filter(x -> x.get("target").equals(base)
                    && Objects.equals(x.get("concurrency"), r.get("concurrency"))).findFirst().orElse(null);
            if (b == null) {
                continue;
            }
            rows.add(new String[] {(String) r.get("target"), r.get("concurrency").toString(),
                    ratio(r, b, "output_tokens_per_s", null), ratio(r, b, "stream_tokens_per_s", "p50"),
                    "%+.1f".formatted(Stats.get(r, "ttft_ms", "p50") - Stats.get(b, "ttft_ms", "p50")),
                    ratio(r, b, "e2e_ms", "p50")});
        }
        return "\nSide by side\n" + grid(rows);
    }

    private static String ratio(Map<String, Object> a, Map<String, Object> b, String metric, String stat) {
        double x = Stats.get(a, metric, stat);
        double y = Stats.get(b, metric, stat);
        return Double.isFinite(x) && Double.isFinite(y) && y != 0 ? "%.1f%%".formatted(100 * x / y) : "-";
    }

    private static String tokenSources(List<Map<String, Object>> sweep, List<Map<String, Object>> rated) {
        return concat(sweep, rated).stream().map(r -> (String) r.get("tokens_from")).filter(s -> !s.equals("none"))
                .distinct().reduce((a, b) -> a + "/" + b).orElse("usage");
    }

    private static String f(Map<String, Object> r, String metric, String stat, int decimals) {
        double v = Stats.get(r, metric, stat);
        return Double.isFinite(v) ? ("%." + decimals + "f").formatted(v) : "-";
    }

    private static String grid(List<String[]> rows) {
        int[] widths = new int[rows.getFirst().length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                // Names left, numbers right, so columns of figures line up by their last digit.
                out.append((i == 0 ? "%-" + widths[i] + "s" : "  %" + widths[i] + "s").formatted(row[i]));
            }
            out.append('\n');
        }
        return out.toString();
    }

    private static List<Map<String, Object>> concat(List<Map<String, Object>> a, List<Map<String, Object>> b) {
        List<Map<String, Object>> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
