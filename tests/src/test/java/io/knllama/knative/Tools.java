package io.knllama.knative;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The Go tools scripts/build-tools.sh builds (and caches): manifest-check and Knative's queue-proxy. Asking
 * for one here finds it in the cache; on a machine where the build step did not run, this builds it.
 */
public final class Tools {

    private Tools() {
    }

    public static Path manifestCheck() throws Exception {
        return tool("manifest_check_bin");
    }

    public static Path queueProxy() throws Exception {
        return tool("queue_proxy_bin");
    }

    private static Path tool(String function) throws Exception {
        var result = Repo.run(Duration.ofMinutes(20), "bash", "-c",
                "source scripts/lib/common.sh && source scripts/lib/tools.sh && " + function);
        if (result.exitCode() != 0) {
            throw new IllegalStateException(function + " failed:\n" + result.output());
        }
        return Path.of(result.output().strip().lines().reduce((first, last) -> last).orElseThrow());
    }
}
