import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The bench's command line, checked as a whole before anything is sent. */
record Options(
        Map<String, URI> targets,
        Map<String, String> models,
        Map<String, Map<String, Object>> extraBodies,
        List<Integer> concurrency,
        int requests,
        Duration duration,
        int warmup,
        List<Double> rates,
        boolean poisson,
        Duration rateDuration,
        int rateRequests,
        long seed,
        int maxTokens,
        double temperature,
        List<String> prompts,
        StreamClient.Api api,
        Duration timeout,
        int maxInFlight,
        Path out,
        Path chart,
        String label) {

    static final String USAGE = """
            usage: java scripts/bench/Bench.java --target NAME=URL [--target NAME=URL ...] [options]

            Drives OpenAI-compatible servers with streamed requests and reports TTFT, inter-token latency,
            end-to-end latency (p50/p90/p99), output tokens/s and requests/s: a closed-loop concurrency sweep,
            then fixed arrival rates. Several targets get the same prompts in the same run, level by level.

            Targets
              --target NAME=URL       a server's base URL (http://127.0.0.1:8080; a trailing /v1 is accepted); repeatable
              --model NAME=ID         model id to send to NAME (default: the first id from GET URL/v1/models)
              --extra-body NAME=JSON  fields merged into every request body to NAME, e.g. '{"cache_prompt":false}'
            Closed loop (a sweep: each level runs on each target in turn)
              --concurrency LIST      concurrent streams per level, e.g. 1,2,4,8 (default); 'none' skips the sweep
              --requests N            measured requests per level (default 20)
              --duration SECONDS      measure each level for this long instead of a request count
              --warmup N              unmeasured requests per level before measuring (default 2)
            Open loop (fixed arrival rate, requests sent whether or not earlier ones finished)
              --rate LIST             arrivals per second, e.g. 0.5,1 (default: none, skipped)
              --arrival KIND          poisson (default) or constant
              --rate-duration SECONDS how long requests arrive at each rate (default 30)
              --rate-requests N       stop arrivals after N requests instead
              --max-in-flight N       open-loop safety cap; arrivals beyond it are counted as not sent (default 64)
            Requests
              --api chat|completions  chat (default): messages; completions: the same prompt as a User:/Assistant:
                                      transcript with stop "\\nUser:" (like text for servers whose chat template differs)
              --prompt TEXT           a user prompt; repeatable; request i uses prompt i mod count (default: a built-in set)
              --prompts-file FILE     prompts, one per line
              --max-tokens N          (default 128)
              --temperature T         (default 0: greedy, so targets produce the same text)
              --timeout SECONDS       per request (default 300)
              --seed N                for Poisson arrivals (default 42)
            Output
              --out FILE              JSON results (default bench-results/bench-<time>.json)
              --chart FILE            PNG chart (default: the JSON's name with .png)
              --label TEXT            a title for the table, JSON and chart
            """;

    static final List<String> DEFAULT_PROMPTS = List.of(
            "Write a short story about a llama who learns to fly.",
            "Explain how a steam engine works.",
            "Describe the city of Paris to someone who has never been there.",
            "What are the main causes of the French Revolution?",
            "Write a letter to a friend about your summer holiday.",
            "Explain why the sky is blue.",
            "Describe a day in the life of a lighthouse keeper.",
            "What should a beginner know about growing tomatoes?");

    static Options parse(String[] args) {
        Map<String, URI> targets = new LinkedHashMap<>();
        Map<String, String> models = new LinkedHashMap<>();
        Map<String, Map<String, Object>> extra = new LinkedHashMap<>();
        List<Integer> concurrency = List.of(1, 2, 4, 8);
        int requests = 20;
        Duration duration = null;
        int warmup = 2;
        List<Double> rates = List.of();
        boolean poisson = true;
        Duration rateDuration = Duration.ofSeconds(30);
        int rateRequests = 0;
        long seed = 42;
        int maxTokens = 128;
        double temperature = 0;
        List<String> prompts = new ArrayList<>();
        StreamClient.Api api = StreamClient.Api.CHAT;
        Duration timeout = Duration.ofSeconds(300);
        int maxInFlight = 64;
        Path out = null;
        Path chart = null;
        String label = "";
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            if (flag.equals("-h") || flag.equals("--help")) {
                throw new Help();
            }
            if (!flag.startsWith("--")) {
                throw bad("unexpected argument '" + flag + "'");
            }
            String value;
            int eq = flag.indexOf('=');
            if (eq > 0) { // --flag=value; a value's own '=' (NAME=URL) stays in the value
                value = flag.substring(eq + 1);
                flag = flag.substring(0, eq);
            } else {
                if (i + 1 >= args.length) {
                    throw bad(flag + " needs a value");
                }
                value = args[++i];
            }
            switch (flag) {
                case "--target" -> {
                    String[] kv = pair(flag, value);
                    if (targets.containsKey(kv[0])) {
                        throw bad("two targets are named '" + kv[0] + "'");
                    }
                    targets.put(kv[0], baseUrl(kv[0], kv[1]));
                }
                case "--model" -> {
                    String[] kv = pair(flag, value);
                    models.put(kv[0], kv[1]);
                }
                case "--extra-body" -> {
                    String[] kv = pair(flag, value);
                    Object json;
                    try {
                        json = Json.parse(kv[1]);
                    } catch (IllegalArgumentException e) {
                        throw bad("--extra-body " + kv[0] + ": " + e.getMessage());
                    }
                    if (!(json instanceof Map<?, ?> map)) {
                        throw bad("--extra-body " + kv[0] + " must be a JSON object");
                    }
                    @SuppressWarnings("unchecked") Map<String, Object> fields = (Map<String, Object>) map;
                    extra.put(kv[0], fields);
                }
                case "--concurrency" -> concurrency = value.equals("none") ? List.of()
                        : splitInts(flag, value, 1, 1024);
                case "--requests" -> requests = integer(flag, value, 1, 1_000_000);
                case "--duration" -> duration = seconds(flag, value);
                case "--warmup" -> warmup = integer(flag, value, 0, 10_000);
                case "--rate" -> rates = value.equals("none") ? List.of() : splitDoubles(flag, value);
                case "--arrival" -> poisson = switch (value) {
                    case "poisson" -> true;
                    case "constant" -> false;
                    default -> throw bad("--arrival must be poisson or constant, not '" + value + "'");
                };
                case "--rate-duration" -> rateDuration = seconds(flag, value);
                case "--rate-requests" -> rateRequests = integer(flag, value, 1, 1_000_000);
                case "--max-in-flight" -> maxInFlight = integer(flag, value, 1, 100_000);
                case "--api" -> api = switch (value) {
                    case "chat" -> StreamClient.Api.CHAT;
                    case "completions" -> StreamClient.Api.COMPLETIONS;
                    default -> throw bad("--api must be chat or completions, not '" + value + "'");
                };
                case "--prompt" -> prompts.add(value);
                case "--prompts-file" -> {
                    try {
                        Files.readAllLines(Path.of(value)).stream().filter(l -> !l.isBlank()).forEach(prompts::add);
                    } catch (IOException e) {
                        throw bad("cannot read --prompts-file " + value + ": " + e.getMessage());
                    }
                }
                case "--max-tokens" -> maxTokens = integer(flag, value, 1, 1_000_000);
                case "--temperature" -> temperature = number(flag, value, 0, 10);
                case "--timeout" -> timeout = seconds(flag, value);
                case "--seed" -> seed = integer(flag, value, 0, Integer.MAX_VALUE);
                case "--out" -> out = Path.of(value);
                case "--chart" -> chart = Path.of(value);
                case "--label" -> label = value;
                default -> throw bad("unknown option " + flag);
            }
        }
        if (targets.isEmpty()) {
            throw bad("at least one --target NAME=URL is needed");
        }
        for (String name : models.keySet()) {
            if (!targets.containsKey(name)) {
                throw bad("--model names '" + name + "', which is not a --target");
            }
        }
        for (String name : extra.keySet()) {
            if (!targets.containsKey(name)) {
                throw bad("--extra-body names '" + name + "', which is not a --target");
            }
        }
        if (concurrency.isEmpty() && rates.isEmpty()) {
            throw bad("nothing to run: --concurrency none and no --rate");
        }
        if (prompts.isEmpty()) {
            prompts.addAll(DEFAULT_PROMPTS);
        }
        if (out == null) {
            out = Path.of("bench-results", "bench-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".json");
        }
        if (chart == null) {
            String name = out.getFileName().toString();
            chart = out.resolveSibling((name.endsWith(".json") ? name.substring(0, name.length() - 5) : name) + ".png");
        }
        return new Options(targets, models, extra, concurrency, requests, duration, warmup, rates, poisson, rateDuration,
                rateRequests, seed, maxTokens, temperature, List.copyOf(prompts), api, timeout, maxInFlight, out, chart, label);
    }

    private static URI baseUrl(String name, String url) {
        String u = url.strip();
        while (u.endsWith("/")) {
            u = u.substring(0, u.length() - 1);
        }
        if (u.endsWith("/v1")) {
            u = u.substring(0, u.length() - 3);
        }
        URI uri;
        try {
            uri = URI.create(u);
        } catch (IllegalArgumentException e) {
            throw bad("--target " + name + ": '" + url + "' is not a URL");
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw bad("--target " + name + ": '" + url + "' is not an http(s) URL with a host");
        }
        return uri;
    }

    private static String[] pair(String flag, String value) {
        int eq = value.indexOf('=');
        if (eq <= 0 || eq == value.length() - 1) {
            throw bad(flag + " takes NAME=VALUE, not '" + value + "'");
        }
        return new String[] {value.substring(0, eq), value.substring(eq + 1)};
    }

    private static int integer(String flag, String value, int min, int max) {
        try {
            int n = Integer.parseInt(value.strip());
            if (n < min || n > max) {
                throw bad(flag + " must be between " + min + " and " + max + ", not " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw bad(flag + " must be a whole number, not '" + value + "'");
        }
    }

    private static double number(String flag, String value, double min, double max) {
        try {
            double n = Double.parseDouble(value.strip());
            if (!(n >= min && n <= max)) {
                throw bad(flag + " must be between " + min + " and " + max + ", not " + value);
            }
            return n;
        } catch (NumberFormatException e) {
            throw bad(flag + " must be a number, not '" + value + "'");
        }
    }

    private static Duration seconds(String flag, String value) {
        double s = number(flag, value, 0.001, 86_400);
        return Duration.ofMillis(Math.round(s * 1000));
    }

    private static List<Integer> splitInts(String flag, String value, int min, int max) {
        List<Integer> out = new ArrayList<>();
        for (String part : value.split(",")) {
            out.add(integer(flag, part, min, max));
        }
        return List.copyOf(out);
    }

    private static List<Double> splitDoubles(String flag, String value) {
        List<Double> out = new ArrayList<>();
        for (String part : value.split(",")) {
            out.add(number(flag, part, 0.001, 10_000));
        }
        return List.copyOf(out);
    }

    private static IllegalArgumentException bad(String message) {
        return new IllegalArgumentException(message);
    }

    /** Thrown for -h/--help: not an error. */
    static final class Help extends RuntimeException {
        Help() {
            super(null, null, false, false);
        }
    }
}
