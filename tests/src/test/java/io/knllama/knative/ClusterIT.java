package io.knllama.knative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * knllama on Knative Serving on a one-node Kubernetes built on this machine by scripts/cluster-up.sh (no
 * registry, no kind or k3s): the local overlay is applied, the Revision becomes Ready, scales to zero, and the
 * first request after zero is answered through the activator. The script prints the cold start's breakdown.
 *
 * <p>Opt-in ({@code -Dcluster}) because it runs as root, changes iptables and starts a control plane, and its
 * first run builds Kubernetes and Knative from the Go module proxy (about 20 minutes on 2 cores; later runs
 * reuse the builds and take about 3 minutes, most of it the scale-to-zero wait):
 * {@code ./mvnw -pl tests -am verify -Dcluster -Dit.test=ClusterIT}. Skipped with a message when not asked for
 * or when {@code scripts/cluster-up.sh check} finds a prerequisite missing. The cluster is stopped afterwards
 * unless {@code -Dcluster.keep} is set.
 */
class ClusterIT {

    private static final String SCRIPT = "scripts/cluster-up.sh";
    private static boolean started;

    private static void skipUnlessRequestedAndPossible() throws Exception {
        String reason = null;
        if (System.getProperty("cluster") == null) {
            reason = "cluster test not requested: run with -Dcluster (root; builds Kubernetes and Knative once; see knative/README.md)";
        } else {
            Repo.Result check = Repo.run(Duration.ofMinutes(1), false, SCRIPT, "check");
            if (check.exitCode() != 0) {
                reason = "cluster test skipped: " + check.output().strip();
            }
        }
        if (reason != null) {
            System.out.println("SKIPPED: " + reason);
        }
        assumeTrue(reason == null, reason);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (started && System.getProperty("cluster.keep") == null) {
            Repo.run(Duration.ofMinutes(3), SCRIPT, "down");
        }
    }

    @Test
    void answers_the_first_request_after_zero_through_the_activator() throws Exception {
        skipUnlessRequestedAndPossible();
        started = true;
        Repo.Result up = Repo.run(Duration.ofMinutes(90), SCRIPT, "up");

        assertThat(up.exitCode()).as(up.output()).isZero();
        assertThat(up.output())
                .contains("Revision of knllama Ready")
                .contains("scaled to zero after the last request")
                .contains("first request after zero, streamed: HTTP 200, first token after ");
    }
}
