package io.knllama.knative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * knllama on a real single-node Kubernetes: starts k3s (Testcontainers), installs Knative Serving
 * with Kourier, imports the images Jib built, applies the `local` overlay, waits for the Service to
 * be Ready, calls it through Kourier, waits until it has scaled to zero, calls again and reports
 * the cold start.
 *
 * <p>Opt-in ({@code -Dk3s}) because it needs a Docker engine and internet access (the k3s image,
 * Knative's and Kourier's release manifests and images, and the model from Hugging Face) and takes
 * 10-15 minutes: {@code ./mvnw verify -Dk3s} (or, alone, {@code ./mvnw -pl tests -am verify -Dk3s
 * -Dit.test=K3sKnativeIT}). Skipped with a message otherwise. Versions: scripts/versions.env.
 */
class K3sKnativeIT {

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    static {
        // The route is chosen by the Host header (no DNS for the Knative domain here).
        System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
    }

    private static final String DOMAIN = "example.com";
    private static final String HOST = "knllama.default." + DOMAIN;
    private static K3sContainer k3s;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /** Skips (visibly: the reason is printed and reported) unless asked for and possible. */
    private static void skipUnlessRequestedAndDockerAvailable() {
        String reason = null;
        if (System.getProperty("k3s") == null) {
            reason = "k3s end-to-end test not requested: run with -Dk3s (needs Docker and internet access; see knative/README.md)";
        } else if (!DockerClientFactory.instance().isDockerAvailable()) {
            reason = "k3s end-to-end test skipped: no Docker engine is reachable (Testcontainers found none)";
        }
        if (reason != null) {
            System.out.println("SKIPPED: " + reason);
        }
        assumeTrue(reason == null, reason);
    }

    private static void startClusterWithKnative() throws Exception {
        Path functionImage = Repo.ROOT.resolve("function/target/jib-image.tar");
        Path modelCacheImage = Repo.ROOT.resolve("model-cache/target/jib-image.tar");
        assertThat(functionImage).as("build the images first: ./mvnw package").exists();
        assertThat(modelCacheImage).as("build the images first: ./mvnw package").exists();

        k3s = new K3sContainer(DockerImageName.parse(Repo.version("K3S_IMAGE")));
        k3s.addExposedPorts(80); // Kourier's LoadBalancer, served by k3s's service load balancer
        k3s.start();

        importImage(functionImage, "dev.local/knllama/function:local");
        importImage(modelCacheImage, "dev.local/knllama/model-cache:local");

        String version = "knative-" + Repo.version("KNATIVE_SERVING_VERSION");
        String kourier = "knative-" + Repo.version("KNATIVE_NET_KOURIER_VERSION");
        kubectl("apply", "-f", "https://github.com/knative/serving/releases/download/" + version + "/serving-crds.yaml");
        kubectl("wait", "--for=condition=Established", "--all", "crd", "--timeout=120s");
        kubectl("apply", "-f", "https://github.com/knative/serving/releases/download/" + version + "/serving-core.yaml");
        kubectl("apply", "-f", "https://github.com/knative-extensions/net-kourier/releases/download/" + kourier + "/kourier.yaml");
        kubectl("patch", "configmap/config-network", "-n", "knative-serving", "--type", "merge",
                "-p", "{\"data\":{\"ingress-class\":\"kourier.ingress.networking.knative.dev\"}}");
        kubectl("patch", "configmap/config-domain", "-n", "knative-serving", "--type", "merge",
                "-p", "{\"data\":{\"" + DOMAIN + "\":\"\"}}");
        kubectl("wait", "deployment", "--all", "-n", "knative-serving", "--for=condition=Available", "--timeout=600s");
        kubectl("wait", "deployment", "--all", "-n", "kourier-system", "--for=condition=Available", "--timeout=600s");

        // What a cluster admin and then a user do, with the repository's own files.
        k3s.copyFileToContainer(MountableFile.forHostPath(Repo.ROOT.resolve("knative")), "/tmp/knative");
        kubectl("patch", "configmap/config-features", "-n", "knative-serving", "--type", "merge",
                "--patch-file", "/tmp/knative/cluster/config-features.yaml");
        kubectl("apply", "-k", "/tmp/knative/overlays/local");
    }

    @AfterAll
    static void stopCluster() {
        if (k3s != null) {
            k3s.stop();
        }
    }

    @Test
    void serves_scales_to_zero_and_starts_cold() throws Exception {
        skipUnlessRequestedAndDockerAvailable();
        startClusterWithKnative();
        Instant deployed = Instant.now();
        kubectl("wait", "ksvc/knllama", "--for=condition=Ready", "--timeout=900s");
        System.out.printf("Service Ready %d s after apply (first rollout: model download, JVM, model load)%n",
                Duration.between(deployed, Instant.now()).toSeconds());

        HttpResponse<String> warm = chat();
        assertThat(warm.statusCode()).as(warm.body()).isEqualTo(200);
        assertThat(warm.body()).contains("choices");

        // KPA: the stable window (60 s) without traffic, the grace period (30 s), then termination.
        Instant idle = Instant.now();
        while (!pods().isBlank()) {
            assertThat(Duration.between(idle, Instant.now())).as("scale to zero").isLessThan(Duration.ofMinutes(6));
            Thread.sleep(5_000);
        }
        System.out.printf("scaled to zero %d s after the last request%n", Duration.between(idle, Instant.now()).toSeconds());

        Instant cold = Instant.now();
        HttpResponse<String> response = chat();
        Duration coldStart = Duration.between(cold, Instant.now());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        System.out.printf("cold start: first answer %.1f s after the request, from zero pods (activator, pod start, "
                + "init container verifying the cached model, JVM start, model load, 8 tokens)%n", coldStart.toMillis() / 1000.0);
    }

    private HttpResponse<String> chat() throws Exception {
        String body = """
                {"model":"gemma-3-270m","max_tokens":8,"messages":[{"role":"user","content":"Say hello."}]}""";
        var request = HttpRequest.newBuilder(URI.create("http://" + k3s.getHost() + ":" + k3s.getMappedPort(80) + "/v1/chat/completions"))
                .header("Host", HOST)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofMinutes(5))
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    private static String pods() throws Exception {
        return kubectl("get", "pods", "-l", "serving.knative.dev/service=knllama", "--no-headers",
                "--field-selector=status.phase!=Succeeded", "-o", "name");
    }

    private static void importImage(Path tarball, String localName) throws Exception {
        String inContainer = "/tmp/" + tarball.getParent().getParent().getFileName() + ".tar";
        k3s.copyFileToContainer(MountableFile.forHostPath(tarball), inContainer);
        exec("ctr", "-n", "k8s.io", "images", "import", inContainer);
        exec("ctr", "-n", "k8s.io", "images", "tag", "--force", "docker.io/" + repoTag(tarball), localName);
    }

    /** The name Jib gave the image (manifest.json's RepoTags), e.g. knllama/function:0.1.0-SNAPSHOT. */
    @SuppressWarnings("unchecked")
    private static String repoTag(Path tarball) throws Exception {
        try (var tar = new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(Files.newInputStream(tarball))) {
            for (var e = tar.getNextEntry(); e != null; e = tar.getNextEntry()) {
                if (e.getName().equals("manifest.json")) {
                    var manifest = (List<Map<String, Object>>) JSON.readValue(tar.readAllBytes(), Object.class);
                    return ((List<String>) manifest.getFirst().get("RepoTags")).getFirst();
                }
            }
        }
        throw new IllegalStateException("no manifest.json in " + tarball);
    }

    private static String kubectl(String... args) throws Exception {
        String[] command = new String[args.length + 1];
        command[0] = "kubectl";
        System.arraycopy(args, 0, command, 1, args.length);
        return exec(command);
    }

    private static String exec(String... command) throws Exception {
        ExecResult result = k3s.execInContainer(command);
        assertThat(result.getExitCode()).as("%s%n%s%s", String.join(" ", command), result.getStdout(), result.getStderr()).isZero();
        return result.getStdout();
    }
}
