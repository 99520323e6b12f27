package io.knllama.knative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The images Jib built at `package` (function/target/jib-image.tar, model-cache/target/jib-image.tar),
 * opened without Docker: no model weights inside (weights live on the model volume), non-root,
 * the entrypoint the Knative Service relies on, and the sizes of the application layers. Where the
 * test runs as root it also unpacks each image and runs it in a chroot as the image's user: the
 * model-cache entrypoint asked for its usage, and the function's own entrypoint serving a tiny model,
 * which proves the JNI library loads and the AOT cache trained at build time is accepted.
 */
class ContainerImagesTest {

    @Test
    void model_cache_image_holds_no_weights_and_runs_as_non_root(@TempDir Path scratch) throws Exception {
        ImageTarball image = open("model-cache");

        assertCommon(image);
        assertThat(image.modes).containsKey("/app/jib-classpath-file");
        assertThat(image.entrypoint()).last().isEqualTo("io.knllama.modelcache.Main");
        if (Files.exists(Repo.ROOT.resolve("model-cache/src/main/java/io/knllama/modelcache/Main.java"))) {
            // The image's own entrypoint, asked for its usage: the program starts in the image.
            List<String> help = new ArrayList<>(image.entrypoint());
            help.add("--help");
            smokeRun(image, scratch, help, "KNLLAMA_MODEL_SOURCE");
        } else {
            smokeRun(image, scratch, List.of("/opt/java/bin/java", "-version"), "Temurin");
        }
    }

    @Test
    void function_image_holds_no_weights_and_serves_from_its_entrypoint_with_the_aot_cache(@TempDir Path scratch) throws Exception {
        ImageTarball image = open("function");

        assertCommon(image);
        assertThat(image.containerConfig().get("WorkingDir")).isEqualTo("/app");
        assertThat(image.entrypoint())
                .contains("--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-XX:AOTCache=function.aot",
                        "-Dde.kherud.llama.lib.path=/opt/knllama/native")
                .endsWith("-jar", "function.jar");
        assertThat(image.modes).containsKeys("/app/function.jar", "/app/function.aot",
                "/opt/knllama/native/libjllama.so", "/opt/knllama/lib/libgomp.so.1");
        assertThat(image.modes.keySet()).as("Jib's exploded layout is filtered out")
                .noneMatch(p -> p.startsWith("/app/libs/") || p.startsWith("/app/classes/"));
        serveFromEntrypoint(image, scratch);
    }

    @Test
    void cuda_function_image_holds_no_weights_and_points_the_loader_at_the_cuda_library() throws Exception {
        Path tarball = Repo.ROOT.resolve("function/target/jib-image-cuda12.tar");
        assumeTrue(Files.exists(tarball), "no CUDA image built (scripts/build-images.sh --cuda builds it)");
        ImageTarball image = new ImageTarball(tarball);
        report(image);

        assertCommon(image);
        assertThat(image.entrypoint()).contains("-Dde.kherud.llama.lib.path=/opt/knllama/native").last().isEqualTo("io.knllama.Application");
        assertThat(image.modes.keySet()).noneMatch(p -> p.matches("/app/libs/llama-[0-9.]+\\.jar"))
                .anyMatch(p -> p.matches("/app/libs/llama-[0-9.]+-cuda12-linux-x86-64\\.jar"));
        if (!image.modes.containsKey("/opt/knllama/native/libjllama.so")) {
            System.out.println("WARNING: " + tarball + " has no /opt/knllama/native/libjllama.so: it cannot load llama.cpp "
                    + "(build with KNLLAMA_CUDA_NATIVE_DIR; de.kherud:llama's cuda12 jar carries no native library)");
        }
    }

    private static ImageTarball open(String module) throws IOException {
        assumeTrue(System.getProperty("knllama.images.skip") == null, "images skipped (-Dknllama.images.skip)");
        assumeTrue(Files.isDirectory(Repo.ROOT.resolve(module + "/src/main/java")),
                module + " has no sources on this branch, so no image is built for it");
        Path tarball = Repo.ROOT.resolve(module + "/target/jib-image.tar");
        assertThat(tarball).as("the images profile builds it at package; run ./mvnw package").exists();
        ImageTarball image = new ImageTarball(tarball);
        report(image);
        return image;
    }

    private static void assertCommon(ImageTarball image) {
        assertThat(image.weights).as("model weights inside %s", image.tarball).isEmpty();
        assertThat(image.containerConfig().get("User")).isEqualTo("65532:65532");
        assertThat(image.env()).containsEntry("JAVA_HOME", "/opt/java");
        assertThat(image.modes.get("/opt/java/bin/java")).as("/opt/java/bin/java mode").isNotNull()
                .matches(mode -> (mode & 0111) == 0111, "executable by all");
    }

    private static void report(ImageTarball image) throws IOException {
        System.out.printf("%nimage %s (%s)%n", image.tarball, mib(Files.size(image.tarball)));
        System.out.printf("  %-14s %-11s %12s %12s %7s  %s%n", "layer", "origin", "compressed", "unpacked", "files", "holds");
        long appCompressed = 0;
        long appBytes = 0;
        for (var layer : image.layers) {
            System.out.printf("  %-14s %-11s %12s %12s %7d  %s%n", layer.createdBy().replace("jvm arg files", "jvm args"),
                    layer.application() ? "application" : "base", mib(layer.compressedBytes()), mib(layer.bytes()),
                    layer.files(), abbreviate(layer.topDirectories()));
            if (layer.application()) {
                appCompressed += layer.compressedBytes();
                appBytes += layer.bytes();
            }
        }
        System.out.printf("  application layers: %s compressed, %s unpacked; model weights found: %d%n",
                mib(appCompressed), mib(appBytes), image.weights.size());
    }

    /**
     * Unpacks the function image, puts a tiny model in it, and runs the image's entrypoint, from its
     * working directory and as its user, as a container runtime would; then asks it for a chat.
     */
    private static void serveFromEntrypoint(ImageTarball image, Path scratch) throws Exception {
        assumeChroot();
        Path root = unpack(image, scratch);
        Path models = Files.createDirectories(root.resolve("models"));
        io.knllama.gguf.TinyModel.write(models.resolve("tiny.gguf"));
        int port;
        try (var socket = new java.net.ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Map<String, String> env = new java.util.TreeMap<>(image.env());
        env.putAll(Map.of("PORT", Integer.toString(port), "KNLLAMA_MODEL_PATH", "/models/tiny.gguf",
                "KNLLAMA_ENGINE_SLOTS", "1", "KNLLAMA_MODEL_CONTEXT_SIZE", "256",
                "JAVA_TOOL_OPTIONS", "-Xlog:aot=info,class+path=info"));
        String[] user = ((String) image.containerConfig().get("User")).split(":");
        List<String> argv = namespace(root, env);
        argv.addAll(List.of("unshare", "--root=" + root, "--wd=" + image.containerConfig().get("WorkingDir"),
                "--setuid=" + user[0], "--setgid=" + user[1]));
        argv.addAll(image.entrypoint());
        Path log = scratch.resolve("function.log");
        Process function = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        var http = java.net.http.HttpClient.newHttpClient();
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            int status = 0;
            while (status != 200 && System.nanoTime() < deadline && function.isAlive()) {
                try {
                    status = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/health/readiness")).build(),
                            java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode();
                } catch (IOException notYet) {
                    Thread.sleep(100);
                }
            }
            assertThat(status).as("readiness of the image's entrypoint; its log:%n%s", Files.readString(log)).isEqualTo(200);
            var chat = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                    .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":4}")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
            String output = Files.readString(log);
            System.out.println(output.lines().filter(l -> l.contains("AOT cache") || l.contains("Startup completed")).toList());
            assertThat(output).as("the AOT cache is accepted").contains("Opened AOT cache function.aot")
                    .doesNotContain("shared class paths mismatch").doesNotContain("Unable to map shared spaces");
        } finally {
            stopTree(function);
        }
    }

    /** Stops the process and everything it started, so no JVM is left serving after the test. */
    private static void stopTree(Process process) throws InterruptedException {
        List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
        tree.add(process.toHandle());
        tree.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (ProcessHandle handle : tree) {
            while (handle.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    private static void assumeChroot() throws Exception {
        var id = Repo.run(Duration.ofSeconds(10), "id", "-u");
        boolean canChroot = id.output().strip().equals("0") && Repo.onPath("unshare")
                && Files.isExecutable(Path.of("/usr/sbin/chroot"))
                && Repo.run(Duration.ofSeconds(10), "unshare", "--mount", "--fork", "true").exitCode() == 0;
        if (!canChroot) {
            System.out.println("SKIPPED: running the image needs root and a mount namespace (unshare, chroot)");
        }
        assumeTrue(canChroot, "running the image in a chroot needs root, unshare and chroot");
    }

    private static Path unpack(ImageTarball image, Path scratch) throws IOException {
        Path root = Files.createDirectories(scratch.resolve("rootfs"));
        image.extractTo(root);
        Files.createDirectories(root.resolve("proc"));
        Files.createDirectories(root.resolve("tmp"));
        Files.setPosixFilePermissions(root.resolve("tmp"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        return root;
    }

    /** A private mount namespace with /proc mounted in the image root, and only the image's environment. */
    private static List<String> namespace(Path root, Map<String, String> env) {
        List<String> argv = new ArrayList<>(List.of("unshare", "--mount", "--fork", "sh", "-c",
                "mount -t proc proc \"$0/proc\" && exec env -i \"$@\"", root.toString()));
        env.forEach((name, value) -> argv.add(name + "=" + value));
        return argv;
    }

    /** Unpacks the image and runs a command in it with chroot, as its user and with its environment. */
    private static void smokeRun(ImageTarball image, Path scratch, List<String> command, String expected) throws Exception {
        assumeChroot();
        Path root = unpack(image, scratch);
        List<String> argv = namespace(root, image.env());
        argv.addAll(List.of("/usr/sbin/chroot", "--userspec=65532:65532", root.toString()));
        argv.addAll(command);
        var result = Repo.run(Duration.ofMinutes(2), argv.toArray(String[]::new));
        assertThat(result.exitCode()).as("in the image: %s%n%s", command, result.output()).isZero();
        assertThat(result.output()).contains(expected);
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    private static String abbreviate(java.util.Set<String> dirs) {
        String joined = String.join(" ", dirs);
        return joined.length() > 60 ? joined.substring(0, 57) + "..." : joined;
    }
}
