package io.knllama.knative;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The Knative checks that need no cluster, with Knative's and Kubernetes' own code
 * (scripts/tools/manifest-check): every overlay renders and validates, and the checks reject each
 * deployment defect that only shows on a real cluster. The Go tools are built by scripts/build-tools.sh,
 * a step of its own before the tests (tests/pom.xml); here they come from its cache.
 */
class KnativeManifestsTest {

    @Test
    void overlays_render_validate_and_kn_deploy_hands_them_to_kn_as_they_are() throws Exception {
        var result = Repo.run(Duration.ofMinutes(20), "bash", "scripts/check-manifests.sh", "tests/target/manifests");

        assertThat(result.exitCode()).as("scripts/check-manifests.sh failed:%n%s", result.output()).isZero();
        assertThat(result.output())
                .contains("validated cpu", "validated gpu", "validated local", "validated components", "validated eventing")
                .contains("knllama rules for Service/knllama (pod QoS Guaranteed)", "knllama rules for Service/knllama-events (pod QoS Guaranteed)")
                .contains("Trigger/knllama-batches gives Service/knllama-events")
                .contains("kn-deploy.sh checked")
                .contains("all Knative manifest checks passed");
    }

    /** A change to the rendered cpu overlay and its eventing, and what Knative's and knllama's checks must say about it. */
    record Defect(String name, String from, String to, String expected) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Defect> defects() {
        return Stream.of(
                // Issue 15, defect 1: Knative's idle timer runs from the request's arrival, so it cut every
                // non-streamed answer and every event reply that took longer than 60 s to start.
                new Defect("an idle timeout shorter than a non-streamed answer", "idleTimeoutSeconds: 0", "idleTimeoutSeconds: 60",
                        "idleTimeoutSeconds (1m0s) must be 0 (none) or exceed the longest reply (9m30s)"),
                new Defect("a response-start timeout shorter than a non-streamed answer", "responseStartTimeoutSeconds: 600",
                        "responseStartTimeoutSeconds: 120", "responseStartTimeoutSeconds (2m0s) must exceed the longest reply (9m30s)"),
                // Defect 3: with an API key, Triggers to the public Service get 401s, which Eventing does not retry.
                new Defect("Triggers that deliver to the public Service, which requires the API key",
                        "      kind: Service\n      name: knllama-events\n", "      kind: Service\n      name: knllama\n",
                        "delivers to Service/knllama, which is not the cluster-local events-only Service"),
                new Defect("an events Service with a public route", "    networking.knative.dev/visibility: cluster-local\n", "",
                        "without KNLLAMA_API_KEY the Service must be cluster-local"),
                // Defect 4: queue-proxy's default resources (25m CPU request, no limits) make the pod Burstable.
                new Defect("queue-proxy without resources of its own",
                        "        queue.sidecar.serving.knative.dev/cpu-resource-limit: 250m\n", "",
                        "the pod Knative builds is Burstable, not Guaranteed"),
                new Defect("an init container whose CPU request differs from its limit",
                        "            cpu: \"1\"\n            memory: 256Mi\n          requests:\n            cpu: \"1\"",
                        "            cpu: \"1\"\n            memory: 256Mi\n          requests:\n            cpu: 500m",
                        "the pod Knative builds is Burstable, not Guaranteed"),
                // The check record: model-cache signs it, the function verifies it, with one key from one Secret.
                new Defect("a function without the check record's key", API_KEY + RECORD_KEY, API_KEY,
                        "KNLLAMA_MODEL_RECORD_KEY must come from a Secret in both the init container"),
                new Defect("check record keys from two Secrets", RECORD_KEY + "        image: knllama/model-cache",
                        RECORD_KEY.replace("name: knllama-secrets", "name: model-cache-secrets") + "        image: knllama/model-cache",
                        "KNLLAMA_MODEL_RECORD_KEY must come from the same Secret key in both containers"),
                // The API key's Secret, watched: the one the key comes from, readable by the pod's service account.
                new Defect("a watched Secret other than the key's", "          value: knllama-api-key\n",
                        "          value: knllama-secrets\n",
                        "KNLLAMA_API_WATCHED_SECRET=knllama-secrets must name the Secret whose entry KNLLAMA_API_KEY the key comes from"),
                new Defect("a service account that may get the key's Secret but not watch it",
                        "  verbs:\n  - get\n  - list\n  - watch\n", "  verbs:\n  - get\n",
                        "service account \"knllama\" may not list, watch Secret \"knllama-api-key\""),
                new Defect("a Role that lets the function read every Secret", "  resourceNames:\n  - knllama-api-key\n", "",
                        "service account \"knllama\" may read Secrets other than \"knllama-api-key\""),
                new Defect("a watched Secret whose key entry is not the one the function reads",
                        "              key: KNLLAMA_API_KEY\n              name: knllama-api-key\n",
                        "              key: api-key\n              name: knllama-api-key\n",
                        "KNLLAMA_API_WATCHED_SECRET=knllama-api-key must name the Secret whose entry KNLLAMA_API_KEY"),
                new Defect("an events Service whose service account may read the key's Secret",
                        "      responseStartTimeoutSeconds: 600\n      timeoutSeconds: 600\n",
                        "      responseStartTimeoutSeconds: 600\n      serviceAccountName: knllama\n      timeoutSeconds: 600\n",
                        "without KNLLAMA_API_KEY the Service has no key to watch: service account \"knllama\" must not read Secrets"),
                new Defect("a Service on the namespace's default service account", "      serviceAccountName: knllama\n", "",
                        "service account \"default\" may not get, list, watch Secret \"knllama-api-key\""),
                new Defect("a required check record key", API_KEY + RECORD_KEY,
                        API_KEY + RECORD_KEY.replace("              optional: true\n", ""), "KNLLAMA_MODEL_RECORD_KEY must be optional in both containers"));
    }

    /** The function's API key (and its watched Secret) and check-record key entries as the cpu overlay renders them. */
    private static final String API_KEY = """
                          key: KNLLAMA_API_KEY
                          name: knllama-api-key
                          optional: true
                    - name: KNLLAMA_API_WATCHED_SECRET
                      value: knllama-api-key
            """;
    private static final String RECORD_KEY = """
                    - name: KNLLAMA_MODEL_RECORD_KEY
                      valueFrom:
                        secretKeyRef:
                          key: KNLLAMA_MODEL_RECORD_KEY
                          name: knllama-secrets
                          optional: true
            """;

    @ParameterizedTest(name = "rejects {0}")
    @MethodSource("defects")
    void rejects(Defect defect, @TempDir Path scratch) throws Exception {
        String rendered = render("knative/overlays/cpu") + "---\n" + render("knative/eventing");
        assertThat(rendered).as("the rendered manifests hold what the defect changes").contains(defect.from());
        Path file = Files.writeString(scratch.resolve("defect.yaml"), rendered.replace(defect.from(), defect.to()));

        var result = Repo.run(Duration.ofMinutes(1), Tools.manifestCheck().toString(), "validate", "--features",
                Repo.ROOT.resolve("knative/cluster/config-features.yaml").toString(), file.toString());

        assertThat(result.exitCode()).as(result.output()).isEqualTo(1);
        assertThat(result.output()).contains(defect.expected());
    }

    /**
     * What QueueProxyIT runs queue-proxy with: the environment Knative's revision reconciler gives it, for the
     * Revision as rendered (no time divisor here). SYSTEM_NAMESPACE once came out as "knative-testing": a
     * Knative Eventing package imports knative.dev/pkg/system/testing, whose init() sets it.
     */
    @Test
    void queue_env_gives_queue_proxy_what_knative_derives_from_the_revision(@TempDir Path scratch) throws Exception {
        Path rendered = Files.writeString(scratch.resolve("cpu.yaml"), render("knative/overlays/cpu"));

        var result = Repo.run(Duration.ofMinutes(1), false, Tools.manifestCheck().toString(), "queue-env", "--features",
                Repo.ROOT.resolve("knative/cluster/config-features.yaml").toString(), rendered.toString(), "knllama");

        assertThat(result.exitCode()).as(result.output()).isZero();
        var env = new com.fasterxml.jackson.databind.ObjectMapper().readTree(result.output()).get("queueEnv");
        assertThat(env.get("SYSTEM_NAMESPACE").asText()).isEqualTo("knative-serving");
        assertThat(env.get("SERVING_NAMESPACE").asText()).isEqualTo("knllama");
        assertThat(env.get("CONTAINER_CONCURRENCY").asText()).isEqualTo("2");
        assertThat(env.get("USER_PORT").asText()).isEqualTo("8080");
        assertThat(env.get("REVISION_TIMEOUT_SECONDS").asText()).isEqualTo("600");
        assertThat(env.get("REVISION_RESPONSE_START_TIMEOUT_SECONDS").asText()).isEqualTo("600");
        assertThat(env.get("REVISION_IDLE_TIMEOUT_SECONDS").asText()).isEqualTo("0");
    }

    /** Issue 15, defect 2: on a Kubernetes older than knative.dev/pkg's minimum, Knative's controllers exit at start-up. */
    @Test
    void the_pinned_test_cluster_runs_a_kubernetes_that_knative_accepts() throws Exception {
        var min = Repo.run(Duration.ofMinutes(1), Tools.manifestCheck().toString(), "min-kubernetes");
        assertThat(min.exitCode()).as(min.output()).isZero();
        String k3s = Repo.version("K3S_IMAGE").replaceFirst(".*:", "").replaceFirst("-k3s.*", "");

        assertThat(compareVersions(k3s, min.output().strip()))
                .as("K3S_IMAGE's Kubernetes %s against Knative's minimum %s", k3s, min.output().strip())
                .isGreaterThanOrEqualTo(0);
    }

    private static int compareVersions(String a, String b) {
        int[] x = Arrays.stream(a.replaceFirst("^v", "").split("\\.")).mapToInt(Integer::parseInt).toArray();
        int[] y = Arrays.stream(b.replaceFirst("^v", "").split("\\.")).mapToInt(Integer::parseInt).toArray();
        return Arrays.compare(x, y);
    }

    private static String render(String kustomization) throws Exception {
        var result = Repo.run(Duration.ofMinutes(1), false, "kubectl", "kustomize", kustomization);
        assertThat(result.exitCode()).as(result.output()).isZero();
        return result.output();
    }
}
