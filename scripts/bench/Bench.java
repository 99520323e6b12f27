import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The streaming benchmark client: run with the JDK's source launcher, no build and no dependencies
 * ({@code java scripts/bench/Bench.java --help}). See scripts/bench/README.md.
 *
 * <p>Exit status: 0 when every measured request succeeded or was shed with 503 + Retry-After; 1 when a
 * target cannot be used (not reachable, no such model, the probe request fails); 2 for bad arguments;
 * 3 when the run completed but some requests failed (the table and JSON say which).
 */
public final class Bench {

    private final Options options;
    private final StreamClient client;
    private final List<StreamClient.Target> targets = new ArrayList<>();

    private Bench(Options options) {
        this.options = options;
        this.client = new StreamClient(options.api(), options.maxTokens(), options.temperature(), options.timeout());
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        // Close idle pooled connections after 2 s: servers close theirs after a few seconds (llama-server's
        // cpp-httplib after 5), and a request sent on a connection the server has just closed fails with
        // "header parser received no bytes"; the client may not resend a POST on its own.
        System.setProperty("jdk.httpclient.keepalive.timeout", "2");
        Options options;
        try {
            options = Options.parse(args);
        } catch (Options.Help help) {
            System.out.print(Options.USAGE);
            return;
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            System.err.println("(java scripts/bench/Bench.java --help lists the options)");
            System.exit(2);
            return;
        }
        try {
            System.exit(new Bench(options).run());
        } catch (StreamClient.BenchException e) {
            System.err.println("bench: error: " + e.getMessage());
            System.exit(1);
        }
    }

    private int run() {
        resolveTargets();
        Map<String, Object> results = new LinkedHashMap<>();
        results.put("tool", "knllama-bench");
        results.put("label", options.label());
        results.put("started", Instant.now().toString());
        results.put("machine", Machine.describe());
        results.put("config", config());
        List<Map<String, Object>> targetList = new ArrayList<>();
        for (StreamClient.Target t : targets) {
            targetList.add(Map.of("name", t.name(), "url", t.base().toString(), "model", t.model(),
                    "extra_body", t.extraBody()));
        }
        results.put("targets", targetList);

        List<Map<String, Object>> sweep = new ArrayList<>();
        // Level by level, every target in turn: drift on a shared machine then hits all targets alike.
        for (int concurrency : options.concurrency()) {
            for (StreamClient.Target target : targets) {
                log("closed loop: %s at concurrency %d (%d warm-up, then %s)", target.name(), concurrency, options.warmup(),
                        options.duration() != null ? options.duration().toSeconds() + " s" : options.requests() + " requests");
                closedLoop(target, Math.min(concurrency, Math.max(1, options.warmup())), options.warmup(), null);
                long start = System.nanoTime();
                List<StreamClient.Sample> samples = closedLoop(target, concurrency, options.requests(), options.duration());
                Map<String, Object> summary = new LinkedHashMap<>();
                summary.put("target", target.name());
                summary.put("concurrency", (long) concurrency);
                summary.putAll(Stats.summarize(samples, (System.nanoTime() - start) / 1e9));
                sweep.add(summary);
            }
        }
        results.put("sweep", sweep);

        List<Map<String, Object>> rated = new ArrayList<>();
        for (double rate : options.rates()) {
            for (StreamClient.Target target : targets) {
                log("open loop: %s at %.3g req/s (%s arrivals, %s)", target.name(), rate, options.poisson() ? "Poisson" : "constant",
                        options.rateRequests() > 0 ? options.rateRequests() + " requests" : options.rateDuration().toSeconds() + " s");
                if (options.concurrency().isEmpty()) {
                    closedLoop(target, 1, options.warmup(), null);
                }
                rated.add(openLoop(target, rate));
            }
        }
        results.put("rate", rated);

        System.out.println();
        System.out.print(Report.table(options, targets, sweep, rated));
        write(results);
        long failed = 0;
        for (Map<String, Object> run : concat(sweep, rated)) {
            failed += (long) run.get("errors");
        }
        if (failed > 0) {
            System.err.printf("bench: %d request(s) failed (other than 503 + Retry-After); first errors are in the table and %s%n",
                    failed, options.out());
            return 3;
        }
        return 0;
    }

    /** Finds each target's model id, and proves the target serves a streamed request before measuring anything. */
    private void resolveTargets() {
        for (var entry : options.targets().entrySet()) {
            String name = entry.getKey();
            var probe = new StreamClient.Target(name, entry.getValue(), "", Map.of());
            List<String> ids = client.models(probe);
            String wanted = options.models().get(name);
            String model;
            if (wanted != null) {
                if (!ids.isEmpty() && !ids.contains(wanted)) {
                    throw new StreamClient.BenchException("target '%s': model id mismatch: --model asks for '%s', but %s serves %s"
                            .formatted(name, wanted, entry.getValue(), ids));
                }
                model = wanted;
            } else if (ids.isEmpty()) {
                throw new StreamClient.BenchException("target '%s': GET %s lists no model; name one with --model %s=ID"
                        .formatted(name, probe.route("models"), name));
            } else {
                model = ids.getFirst();
                if (ids.size() > 1) {
                    log("target %s serves %d models; using the first, '%s' (choose with --model %s=ID)", name, ids.size(), model, name);
                }
            }
            var target = new StreamClient.Target(name, entry.getValue(), model, options.extraBodies().getOrDefault(name, Map.of()));
            StreamClient.Sample sample = client.send(target, client.body(target, options.prompts().getFirst()));
            if (sample.outcome() != StreamClient.Outcome.OK) {
                throw new StreamClient.BenchException("target '%s' (%s, model '%s'): the first streamed request did not succeed: %s"
                        .formatted(name, entry.getValue(), model, sample.outcome() == StreamClient.Outcome.SHED
                                ? "503 with Retry-After (the server is busy or still loading before the run started)" : sample.error()));
            }
            log("target %s: %s, model '%s', probe TTFT %.0f ms, %d tokens (counted from %s)", name, entry.getValue(), model,
                    sample.ttftMs(), sample.tokens(), sample.tokensFromUsage() ? "usage" : "chunks: the server sent no usage");
            targets.add(target);
        }
    }

    /**
     * {@code concurrency} workers, each sending its next request as soon as its last one ends, until
     * {@code count} requests were started (or {@code duration} has passed, when given). Request i uses
     * prompt i mod the prompt count, so every target sees the same sequence.
     */
    private List<StreamClient.Sample> closedLoop(StreamClient.Target target, int concurrency, int count, java.time.Duration duration) {
        if (count == 0 && duration == null) {
            return List.of();
        }
        List<StreamClient.Sample> samples = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        long deadline = duration == null ? Long.MAX_VALUE : System.nanoTime() + duration.toNanos();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            workers.add(Thread.ofVirtual().name("worker-" + w).start(() -> {
                while (true) {
                    int i = next.getAndIncrement();
                    if (duration == null ? i >= count : System.nanoTime() - deadline > 0) {
                        return;
                    }
                    samples.add(client.send(target, client.body(target, prompt(i))));
                }
            }));
        }
        joinAll(workers);
        return samples;
    }

    /**
     * Requests arrive at {@code rate} per second (exponential gaps for Poisson, equal gaps otherwise),
     * each sent at its arrival time whether or not earlier ones have finished: an open loop, so a
     * server that falls behind shows it as queueing (or shedding) rather than as a slower client.
     */
    private Map<String, Object> openLoop(StreamClient.Target target, double rate) {
        Random random = new Random(options.seed());
        Semaphore inFlight = new Semaphore(options.maxInFlight());
        List<StreamClient.Sample> samples = Collections.synchronizedList(new ArrayList<>());
        List<Thread> requests = new ArrayList<>();
        int notSent = 0;
        long start = System.nanoTime();
        long end = start + options.rateDuration().toNanos();
        double arrival = 0;
        for (int i = 0; ; i++) {
            if (options.rateRequests() > 0 ? i >= options.rateRequests() : start + (long) arrival > end) {
                break;
            }
            long at = start + (long) arrival;
            long wait;
            while ((wait = at - System.nanoTime()) > 0) {
                LockSupport.parkNanos(wait);
            }
            if (!inFlight.tryAcquire()) {
                notSent++; // the client's own cap, so a stalled server cannot make this loop unbounded
            } else {
                String body = client.body(target, prompt(i));
                requests.add(Thread.ofVirtual().start(() -> {
                    try {
                        samples.add(client.send(target, body));
                    } finally {
                        inFlight.release();
                    }
                }));
            }
            double gap = options.poisson() ? -Math.log(1 - random.nextDouble()) / rate : 1 / rate;
            arrival += gap * 1e9;
        }
        joinAll(requests);
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("target", target.name());
        summary.put("rate", rate);
        summary.put("arrival", options.poisson() ? "poisson" : "constant");
        summary.put("not_sent", (long) notSent);
        summary.putAll(Stats.summarize(samples, (System.nanoTime() - start) / 1e9));
        return summary;
    }

    private String prompt(int i) {
        return options.prompts().get(i % options.prompts().size());
    }

    private Map<String, Object> config() {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("api", options.api().name().toLowerCase());
        c.put("concurrency", options.concurrency().stream().map(Integer::longValue).toList());
        c.put("requests_per_level", options.duration() == null ? (Object) (long) options.requests() : null);
        c.put("duration_per_level_s", options.duration() == null ? null : options.duration().toMillis() / 1e3);
        c.put("warmup", (long) options.warmup());
        c.put("rates", options.rates());
        c.put("arrival", options.poisson() ? "poisson" : "constant");
        c.put("rate_duration_s", options.rateRequests() > 0 ? null : options.rateDuration().toMillis() / 1e3);
        c.put("rate_requests", options.rateRequests() > 0 ? (Object) (long) options.rateRequests() : null);
        c.put("max_tokens", (long) options.maxTokens());
        c.put("temperature", options.temperature());
        c.put("prompts", options.prompts());
        return c;
    }

    private void write(Map<String, Object> results) {
        try {
            Path parent = options.out().toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Files.writeString(options.out(), Json.write(results) + "\n");
            System.out.println("JSON:  " + options.out());
            @SuppressWarnings("unchecked") List<Map<String, Object>> sweep = (List<Map<String, Object>>) results.get("sweep");
            if (!sweep.isEmpty()) {
                Files.createDirectories(options.chart().toAbsolutePath().getParent());
                Chart.draw(options, targets, sweep, options.chart());
                System.out.println("Chart: " + options.chart());
            }
        } catch (IOException e) {
            throw new StreamClient.BenchException("cannot write results: " + e);
        }
    }

    private static void joinAll(List<Thread> threads) {
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new StreamClient.BenchException("interrupted");
            }
        }
    }

    private static List<Map<String, Object>> concat(List<Map<String, Object>> a, List<Map<String, Object>> b) {
        List<Map<String, Object>> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    static void log(String format, Object... args) {
        System.err.printf("%tT [bench] %s%n", System.currentTimeMillis(), format.formatted(args));
    }
}
