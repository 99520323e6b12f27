package io.knllama.modelcache;

import io.knllama.modelcache.failure.ModelCacheException;
import io.knllama.modelcache.log.Log;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** The init container's entry point: fetch and verify the model, or exit non-zero saying what to fix. */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(List.of(args), System.getenv(), Log.standard(), System.out));
    }

    static int run(List<String> args, Map<String, String> env, Log log, PrintStream out) {
        if (args.contains("--help") || args.contains("-h")) {
            out.println(Config.usage());
            return 0;
        }
        try {
            ModelCache.create(Config.from(env, args), log).ensure();
            return 0;
        } catch (ModelCacheException e) {
            log.error(e.getMessage());
            return e.exitCode();
        } catch (InterruptedException | RuntimeException e) {
            log.error("model-cache failed unexpectedly: " + e + ". This is a bug; please report it with this log.");
            return 1;
        }
    }
}
