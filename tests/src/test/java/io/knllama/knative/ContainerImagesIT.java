package io.knllama.knative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The images in a real container engine, as a Knative pod runs them: the model-cache image fills a model
 * volume from a local HTTP source, then the function image serves the real default model from that volume.
 * Each container runs with the restrictions knative/base/api/300-service.yaml gives it, read from the
 * rendered cpu overlay: its user and group, a read-only root filesystem, every capability dropped, no
 * privilege escalation, its memory and CPU limits, a tmpfs at /tmp of the emptyDir's size, and the model
 * volume writable for the init container and read-only for the function. Containers share the host's
 * network (the HTTP source and the function listen on loopback only).
 *
 * <p>Needs a running Docker engine (.ci/run installs Debian's docker.io and starts it); without one it
 * skips with a message. The image tarballs come from `./mvnw package` (Jib).
 */
class ContainerImagesIT {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path MODEL = Path.of(System.getProperty("knllama.e2e.model",
            System.getProperty("user.home") + "/.cache/knllama/models/gemma-3-270m-q4_k_m.gguf"));

    @Test
    void model_cache_fills_the_volume_and_the_function_serves_the_model_under_the_manifests_restrictions(@TempDir Path scratch)
            throws Exception {
        assumeDocker();
        assumeTrue(System.getProperty("knllama.images.skip") == null, "images skipped (-Dknllama.images.skip)");
        String modelCacheImage = load("model-cache");
        String functionImage = load("function");
        Pod pod = Pod.fromRenderedOverlay("knative/overlays/cpu", "knllama");

        // The model volume: a directory the init container's user may write, as a provisioned claim is.
        Path volume = Files.createDirectories(scratch.resolve("models"));
        // The Secret the manifests refer to: no API key (the test talks to the function without one) and no
        // HF_TOKEN (the source is local), but the check record's key, which both containers must get.
        Map<String, Map<String, String>> secrets = Map.of("knllama-secrets",
                Map.of("KNLLAMA_MODEL_RECORD_KEY", UUID.randomUUID().toString() + UUID.randomUUID()));
        chown(volume, pod.initContainer().path("securityContext"));
        HttpServer source = serveModel();
        String name = "knllama-it-" + UUID.randomUUID().toString().substring(0, 8);
        try {
            Map<String, String> initEnv = new TreeMap<>(pod.env(pod.initContainer(), secrets));
            initEnv.put("KNLLAMA_MODEL_SOURCE", "http://127.0.0.1:" + source.getAddress().getPort() + "/" + initEnv.get("KNLLAMA_MODEL_FILE"));
            List<String> init = pod.dockerRun(pod.initContainer(), name + "-init", volume, false, initEnv);
            init.add(modelCacheImage);

            var filled = Repo.run(Duration.ofMinutes(10), init.toArray(String[]::new));

            assertThat(filled.exitCode()).as("model-cache in its container:%n%s", filled.output()).isZero();
            assertThat(volume.resolve(initEnv.get("KNLLAMA_MODEL_FILE"))).exists().hasSize(Files.size(MODEL));
            assertThat(filled.output()).as("model-cache signs its check with the Secret's key").contains("recorded the GGUF check");

            int port;
            try (ServerSocket socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            Map<String, String> functionEnv = new TreeMap<>(pod.env(pod.function(), secrets));
            functionEnv.put("PORT", Integer.toString(port));
            // Not from the manifest: the JVM's AOT log, to see that the cache trained at build time is accepted.
            functionEnv.put("JAVA_TOOL_OPTIONS", "-Xlog:aot=info");
            List<String> serve = pod.dockerRun(pod.function(), name, volume, true, functionEnv);
            serve.add(2, "--detach"); // after "docker run"
            serve.add(functionImage);
            var started = Repo.run(Duration.ofMinutes(1), serve.toArray(String[]::new));
            assertThat(started.exitCode()).as(started.output()).isZero();

            HttpClient http = HttpClient.newHttpClient();
            awaitReady(http, port, name);
            var chat = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("""
                            {"model":"%s","messages":[{"role":"user","content":"What is the capital of France?"}],"max_tokens":24,"temperature":0}"""
                            .formatted(functionEnv.get("KNLLAMA_MODEL_ID")))).build(), HttpResponse.BodyHandlers.ofString());

            assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
            assertThat(JSON.readTree(chat.body()).at("/choices/0/message/content").asText()).contains("Paris");
            // SIGTERM, as the kubelet sends it: the function drains and exits cleanly.
            var stopped = Repo.run(Duration.ofMinutes(1), "docker", "stop", "--time", "30", name);
            assertThat(stopped.exitCode()).as(stopped.output()).isZero();
            var exit = Repo.run(Duration.ofMinutes(1), "docker", "inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", name);
            String log = Repo.run(Duration.ofMinutes(1), false, "docker", "logs", name).output();
            System.out.println(log.lines().filter(l -> l.contains("Startup completed") || l.contains("loaded in") || l.contains("AOT cache")).toList());
            // The JVM exits with 143 (128 + SIGTERM) once its shutdown hooks are done; not killed, not out of memory.
            assertThat(exit.output().strip()).as(log).isIn("0 false", "143 false");
            assertThat(log).as("the function drained before it exited").contains("All generations finished");
            assertThat(log).as("the AOT cache is accepted").contains("Opened AOT cache function.aot")
                    .doesNotContain("shared class paths mismatch").doesNotContain("Unable to map shared spaces");
            assertThat(log).as("the function trusts model-cache's record, signed with the same Secret's key")
                    .contains("signed record): skipping the per-entry vocabulary pass");
        } finally {
            source.stop(0);
            Repo.run(Duration.ofMinutes(1), false, "docker", "rm", "--force", name, name + "-init");
        }
    }

    /** A pod of a Knative Service in the rendered overlay, with the ConfigMap its environment refers to. */
    private record Pod(JsonNode spec, Map<String, JsonNode> configMaps) {

        static Pod fromRenderedOverlay(String overlay, String service) throws Exception {
            var render = Repo.run(Duration.ofMinutes(1), false, "kubectl", "kustomize", overlay);
            assertThat(render.exitCode()).as(render.output()).isZero();
            JsonNode spec = null;
            Map<String, JsonNode> configMaps = new TreeMap<>();
            try (var docs = YAML.readerFor(JsonNode.class).<JsonNode>readValues(render.output())) {
                while (docs.hasNext()) {
                    JsonNode doc = docs.next();
                    String kind = doc.path("apiVersion").asText() + " " + doc.path("kind").asText();
                    if (kind.equals("v1 ConfigMap")) {
                        configMaps.put(doc.at("/metadata/name").asText(), doc.path("data"));
                    } else if (kind.equals("serving.knative.dev/v1 Service") && doc.at("/metadata/name").asText().equals(service)) {
                        spec = doc.at("/spec/template/spec");
                    }
                }
            }
            assertThat(spec).as("Service %s in %s", service, overlay).isNotNull();
            return new Pod(spec, configMaps);
        }

        JsonNode function() {
            return spec.at("/containers/0");
        }

        JsonNode initContainer() {
            return spec.at("/initContainers/0");
        }

        /**
         * The container's environment with ConfigMap references resolved and Secret references taken from
         * {@code secrets} (name to data), as the kubelet resolves them; an optional key a Secret lacks is left out.
         */
        Map<String, String> env(JsonNode container, Map<String, Map<String, String>> secrets) {
            Map<String, String> env = new TreeMap<>();
            for (JsonNode e : container.path("env")) {
                JsonNode configMapRef = e.at("/valueFrom/configMapKeyRef");
                JsonNode secretRef = e.at("/valueFrom/secretKeyRef");
                if (e.has("value")) {
                    env.put(e.get("name").asText(), e.get("value").asText());
                } else if (!configMapRef.isMissingNode()) {
                    env.put(e.get("name").asText(), configMaps.get(configMapRef.get("name").asText()).get(configMapRef.get("key").asText()).asText());
                } else if (!secretRef.isMissingNode()) {
                    String value = secrets.getOrDefault(secretRef.get("name").asText(), Map.of()).get(secretRef.get("key").asText());
                    assertThat(value != null || secretRef.path("optional").asBoolean())
                            .as("%s: the Secret key it requires is given", e.get("name").asText()).isTrue();
                    if (value != null) {
                        env.put(e.get("name").asText(), value);
                    }
                }
            }
            return env;
        }

        /** {@code docker run} with the container's security context, limits, /tmp and model volume from the manifest. */
        List<String> dockerRun(JsonNode container, String name, Path volume, boolean readOnlyModels, Map<String, String> env) {
            JsonNode security = container.path("securityContext");
            List<String> argv = new ArrayList<>(List.of("docker", "run", "--name", name, "--network", "host",
                    "--user", security.get("runAsUser").asText() + ":" + security.get("runAsGroup").asText()));
            if (security.path("readOnlyRootFilesystem").asBoolean()) {
                argv.add("--read-only");
            }
            for (JsonNode capability : security.at("/capabilities/drop")) {
                argv.addAll(List.of("--cap-drop", capability.asText()));
            }
            if (!security.path("allowPrivilegeEscalation").asBoolean(true)) {
                argv.addAll(List.of("--security-opt", "no-new-privileges"));
            }
            JsonNode limits = container.at("/resources/limits");
            argv.addAll(List.of("--memory", mebibytes(limits.get("memory").asText()) + "m", "--memory-swap", mebibytes(limits.get("memory").asText()) + "m"));
            argv.addAll(List.of("--cpus", cpus(limits.get("cpu").asText())));
            for (JsonNode mount : container.path("volumeMounts")) {
                JsonNode source = volumeNamed(mount.get("name").asText());
                String path = mount.get("mountPath").asText();
                if (!source.path("emptyDir").isMissingNode()) {
                    // An emptyDir: writable, executable (unlike Docker's default tmpfs), of the emptyDir's size.
                    argv.addAll(List.of("--tmpfs", path + ":rw,exec,nosuid,mode=1777,size="
                            + mebibytes(source.at("/emptyDir/sizeLimit").asText()) + "m"));
                } else if (!source.path("persistentVolumeClaim").isMissingNode()) {
                    assertThat(mount.path("readOnly").asBoolean()).as("the manifest mounts the model volume read-only: %s", readOnlyModels)
                            .isEqualTo(readOnlyModels);
                    argv.addAll(List.of("--volume", volume + ":" + path + (readOnlyModels ? ":ro" : "")));
                }
            }
            env.forEach((key, value) -> argv.addAll(List.of("--env", key + "=" + value)));
            return argv;
        }

        private JsonNode volumeNamed(String name) {
            for (JsonNode v : spec.path("volumes")) {
                if (v.get("name").asText().equals(name)) {
                    return v;
                }
            }
            throw new AssertionError("no volume " + name + " in the pod spec");
        }
    }

    /** A Kubernetes memory quantity (Mi or Gi) in MiB. */
    static long mebibytes(String quantity) {
        Matcher m = Pattern.compile("([0-9]+)(Mi|Gi)").matcher(quantity);
        assertThat(m.matches()).as("memory quantity %s in Mi or Gi", quantity).isTrue();
        return Long.parseLong(m.group(1)) * (m.group(2).equals("Gi") ? 1024 : 1);
    }

    /** A Kubernetes CPU quantity (whole cores or millicores) as Docker's --cpus. */
    static String cpus(String quantity) {
        return quantity.endsWith("m") ? Double.toString(Long.parseLong(quantity.replace("m", "")) / 1000.0) : quantity;
    }

    private static void assumeDocker() throws Exception {
        boolean available = Repo.onPath("docker") && Repo.run(Duration.ofSeconds(30), false, "docker", "info").exitCode() == 0;
        if (!available) {
            System.out.println("SKIPPED: no container engine: running the images needs a Docker engine (.ci/run installs Debian's docker.io)");
        }
        assumeTrue(available, "no Docker engine is reachable");
    }

    /** docker load of the module's Jib tarball; the image's name as Docker reports it. */
    private static String load(String module) throws Exception {
        Path tarball = Repo.ROOT.resolve(module + "/target/jib-image.tar");
        assertThat(tarball).as("the images profile builds it at package; run ./mvnw package").exists();
        var loaded = Repo.run(Duration.ofMinutes(5), "docker", "load", "--input", tarball.toString());
        assertThat(loaded.exitCode()).as(loaded.output()).isZero();
        Matcher image = Pattern.compile("Loaded image: (\\S+)").matcher(loaded.output());
        assertThat(image.find()).as(loaded.output()).isTrue();
        return image.group(1);
    }

    private static void chown(Path dir, JsonNode security) throws IOException {
        // Numeric ids: the user need not exist on this machine.
        var result = new ProcessBuilder("chown", security.get("runAsUser").asText() + ":" + security.get("runAsGroup").asText(), dir.toString())
                .inheritIO().start();
        try {
            assertThat(result.waitFor()).as("chown of the model volume (needs root)").isZero();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The default model over plain HTTP on loopback: the model source model-cache downloads from. */
    private static HttpServer serveModel() throws IOException {
        assertThat(MODEL).as("the default model (scripts/fetch-model.sh fetches it before the ITs)").exists();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            exchange.getResponseHeaders().add("Content-Type", "application/octet-stream");
            exchange.sendResponseHeaders(200, Files.size(MODEL));
            try (var out = exchange.getResponseBody()) {
                Files.copy(MODEL, out);
            }
        });
        server.start();
        return server;
    }

    private static void awaitReady(HttpClient http, int port, String container) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/readiness")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            var running = Repo.run(Duration.ofSeconds(30), false, "docker", "inspect", "--format", "{{.State.Running}}", container);
            if (!running.output().strip().equals("true")) {
                throw new AssertionError("the function's container stopped:\n" + Repo.run(Duration.ofSeconds(30), false, "docker", "logs", container).output());
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the function's container was not ready within 120 s:\n"
                + Repo.run(Duration.ofSeconds(30), false, "docker", "logs", container).output());
    }
}
