package io.knllama.knative;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The images Jib built at `package` (function/target/jib-image.tar, model-cache/target/jib-image.tar),
 * opened without Docker: no model weights inside (weights live on the model volume), non-root,
 * the entrypoint the Knative Service relies on, and the sizes of the application layers. That the
 * images run, as the manifests run them, is ContainerImagesIT's proof, in a real container engine.
 */
class ContainerImagesTest {

    @Test
    void model_cache_image_holds_no_weights_and_runs_as_non_root() throws Exception {
        ImageTarball image = open("model-cache");

        assertCommon(image);
        assertThat(image.modes).containsKey("/app/jib-classpath-file");
        assertThat(image.entrypoint()).last().isEqualTo("io.knllama.modelcache.Main");
    }

    @Test
    void function_image_holds_no_weights_and_starts_from_its_entrypoint_with_the_aot_cache() throws Exception {
        ImageTarball image = open("function");

        assertCommon(image);
        assertThat(image.containerConfig().get("WorkingDir")).isEqualTo("/app");
        assertThat(image.entrypoint())
                .contains("--enable-native-access=ALL-UNNAMED", "-XX:-UsePerfData", "-XX:AOTCache=function.aot",
                        "-XX:CompileThresholdScaling=10", "-Dde.kherud.llama.lib.path=/opt/knllama/native")
                .endsWith("-jar", "function.jar");
        assertThat(image.modes).containsKeys("/app/function.jar", "/app/function.aot",
                "/opt/knllama/native/libjllama.so", "/opt/knllama/lib/libgomp.so.1");
        assertThat(image.modes.keySet()).as("Jib's exploded layout is filtered out")
                .noneMatch(p -> p.startsWith("/app/libs/") || p.startsWith("/app/classes/"));
    }

    @Test
    void cuda_function_image_holds_no_weights_and_points_the_loader_at_the_cuda_library() throws Exception {
        Path tarball = Repo.ROOT.resolve("function/target/jib-image-cuda12.tar");
        assumeTrue(Files.exists(tarball), "no CUDA image built (scripts/build-images.sh --cuda builds it)");
        ImageTarball image = new ImageTarball(tarball);
        report(image);

        assertCommon(image);
        // The shaded jar, as in the CPU image (its de.kherud:llama classes are the cuda12 jar's: the cuda profile
        // swaps the dependency), but no AOT cache, so no record of what to compile early either: raised compile
        // thresholds would only delay compiling.
        assertThat(image.entrypoint())
                .contains("-Dde.kherud.llama.lib.path=/opt/knllama/native", "-XX:CompileThresholdScaling=1")
                .noneMatch(option -> option.startsWith("-XX:AOTCache"))
                .endsWith("-jar", "function.jar");
        assertThat(image.modes).containsKey("/app/function.jar").doesNotContainKey("/app/function.aot");
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

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    private static String abbreviate(java.util.Set<String> dirs) {
        String joined = String.join(" ", dirs);
        return joined.length() > 60 ? joined.substring(0, 57) + "..." : joined;
    }
}
