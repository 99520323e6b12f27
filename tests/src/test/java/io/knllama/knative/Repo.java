package io.knllama.knative;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The repository these tests live in: its paths, its pinned versions, and running its scripts. */
public final class Repo {

    /** The repository root: Maven runs this module's tests in tests/. */
    public static final Path ROOT = findRoot();

    private Repo() {
    }

    private static Path findRoot() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.exists(dir.resolve("scripts/versions.env"))) {
            dir = dir.getParent();
        }
        if (dir == null) {
            throw new IllegalStateException("not inside the knllama repository: no scripts/versions.env above " + Path.of("").toAbsolutePath());
        }
        return dir;
    }

    /** A simple NAME=value from scripts/versions.env, where every version is pinned. */
    public static String version(String name) {
        try {
            for (String line : Files.readAllLines(ROOT.resolve("scripts/versions.env"))) {
                if (line.startsWith(name + "=")) {
                    return line.substring(name.length() + 1).strip();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException(name + " is not set in scripts/versions.env");
    }

    public record Result(int exitCode, String output) {
    }

    /** Runs a command in the repository root, stdout and stderr merged, echoing it as it goes. */
    public static Result run(Duration timeout, String... command) throws IOException, InterruptedException {
        return run(timeout, true, command);
    }

    /** Runs a command in the repository root, stdout and stderr merged, echoing it if asked to. */
    public static Result run(Duration timeout, boolean echo, String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true).start();
        StringBuilder output = new StringBuilder();
        Thread pump = Thread.ofVirtual().start(() -> {
            try (var reader = process.inputReader(StandardCharsets.UTF_8)) {
                reader.lines().forEach(line -> {
                    if (echo) {
                        System.out.println(line);
                    }
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                });
            } catch (IOException ignored) {
                // the process ended
            }
        });
        if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeout);
        }
        pump.join();
        synchronized (output) {
            return new Result(process.exitValue(), output.toString());
        }
    }

    public static boolean onPath(String program) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        return dirs.stream().anyMatch(dir -> Files.isExecutable(Path.of(dir, program)));
    }
}
