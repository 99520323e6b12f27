package io.knllama.knative;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The Knative checks that need no cluster, as scripts/check-manifests.sh runs them: every overlay
 * renders with kubectl kustomize, every object passes Kubernetes' and Knative's own validation with
 * the feature flags its config-features patch enables, and kn-deploy.sh's Services (kn --target)
 * equal the rendered ones. The first run builds the Go tools (a few minutes), later runs take ~1 s.
 */
class KnativeManifestsTest {

    @Test
    void overlays_render_validate_and_match_what_kn_deploys() throws Exception {
        var result = Repo.run(Duration.ofMinutes(20), "bash", "scripts/check-manifests.sh", "tests/target/manifests");

        assertThat(result.exitCode()).as("scripts/check-manifests.sh failed:%n%s", result.output()).isZero();
        assertThat(result.output())
                .contains("validated cpu", "validated gpu", "validated local")
                .contains("kn-deploy.sh (cpu) checked", "kn-deploy.sh (gpu) checked")
                .contains("all Knative manifest checks passed");
    }
}
