import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/** Percentiles and the per-run summary that the table, the JSON and the chart all read. */
final class Stats {

    private Stats() {
    }

    /** p50/p90/p99/mean/max/n of the finite values, linear interpolation between ranks (numpy's default). */
    static Map<String, Object> distribution(double[] values) {
        double[] v = Arrays.stream(values).filter(Double::isFinite).sorted().toArray();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("n", (long) v.length);
        out.put("p50", percentile(v, 50));
        out.put("p90", percentile(v, 90));
        out.put("p99", percentile(v, 99));
        out.put("mean", v.length == 0 ? Double.NaN : Arrays.stream(v).average().orElse(Double.NaN));
        out.put("max", v.length == 0 ? Double.NaN : v[v.length - 1]);
        return out;
    }

    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double rank = p / 100 * (sorted.length - 1);
        int low = (int) Math.floor(rank);
        int high = Math.min(low + 1, sorted.length - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    static double[] each(List<StreamClient.Sample> samples, ToDoubleFunction<StreamClient.Sample> f) {
        return samples.stream().mapToDouble(f).toArray();
    }

    /**
     * What one run (a concurrency level or an arrival rate, on one target) measured.
     *
     * @param wallSeconds from the first request sent to the last one finished
     */
    static Map<String, Object> summarize(List<StreamClient.Sample> samples, double wallSeconds) {
        List<StreamClient.Sample> ok = samples.stream().filter(s -> s.outcome() == StreamClient.Outcome.OK).toList();
        List<StreamClient.Sample> shed = samples.stream().filter(s -> s.outcome() == StreamClient.Outcome.SHED).toList();
        List<StreamClient.Sample> errors = samples.stream().filter(s -> s.outcome() == StreamClient.Outcome.ERROR).toList();
        long tokens = ok.stream().mapToLong(StreamClient.Sample::tokens).sum();
        long chunks = ok.stream().mapToLong(StreamClient.Sample::chunks).sum();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("requests", (long) samples.size());
        out.put("ok", (long) ok.size());
        out.put("shed", (long) shed.size());
        out.put("errors", (long) errors.size());
        out.put("wall_s", wallSeconds);
        out.put("req_per_s", wallSeconds > 0 ? ok.size() / wallSeconds : Double.NaN);
        out.put("output_tokens", tokens);
        out.put("output_chunks", chunks);
        out.put("tokens_from", ok.isEmpty() ? "none" : ok.stream().allMatch(StreamClient.Sample::tokensFromUsage) ? "usage"
                : ok.stream().noneMatch(StreamClient.Sample::tokensFromUsage) ? "chunks" : "mixed");
        out.put("output_tokens_per_s", wallSeconds > 0 ? tokens / wallSeconds : Double.NaN);
        out.put("tokens_per_request", ok.isEmpty() ? Double.NaN : (double) tokens / ok.size());
        out.put("ttft_ms", distribution(each(ok, StreamClient.Sample::ttftMs)));
        out.put("itl_ms", distribution(ok.stream().flatMapToDouble(s -> Arrays.stream(s.gapsMs())).toArray()));
        out.put("tpot_ms", distribution(each(ok, StreamClient.Sample::tpotMs)));
        out.put("stream_tokens_per_s", distribution(each(ok, s -> 1000 / s.tpotMs())));
        out.put("e2e_ms", distribution(each(ok, StreamClient.Sample::e2eMs)));
        out.put("shed_ms", distribution(each(shed, StreamClient.Sample::e2eMs)));
        out.put("first_errors", errors.stream().map(s -> s.error()).distinct().limit(5).toList());
        return out;
    }

    @SuppressWarnings("unchecked")
    static double get(Map<String, Object> summary, String metric, String stat) {
        Object m = summary.get(metric);
        Object v = m instanceof Map<?, ?> map ? ((Map<String, Object>) map).get(stat) : m;
        return v instanceof Number n ? n.doubleValue() : Double.NaN;
    }
}
