package io.knllama.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The repository's own tooling files: the GitHub workflow (valid YAML, running the README's test command the
 * way .ci/run does, pushing images only on tags), the monitoring manifests under knative/observability, and the
 * Maven build files.
 */
class RepositoryFilesTest {

    private static final Path ROOT = Path.of("..");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static JsonNode yaml(String path) throws IOException {
        return YAML.readTree(ROOT.resolve(path).toFile());
    }

    private static List<String> runs(JsonNode job) {
        List<String> runs = new ArrayList<>();
        job.get("steps").forEach(step -> {
            if (step.has("run")) {
                runs.add(step.get("run").asText());
            }
        });
        return runs;
    }

    /**
     * Maven keeps only the last of two declarations of one plugin in a {@code <plugins>} list (with a warning few
     * read): the function's images profile once lost its image-base execution that way, and
     * {@code ./mvnw -pl function -am package} then trained no AOT cache on a fresh clone.
     */
    @Test
    void no_build_file_declares_a_plugin_twice_in_one_plugins_list() throws Exception {
        List<String> repeated = new ArrayList<>();
        List<Path> poms;
        try (var files = Files.walk(ROOT, 4)) {
            poms = files.filter(p -> p.getFileName().toString().equals("pom.xml") && !p.toString().contains("/target/")).toList();
        }
        assertThat(poms).hasSizeGreaterThan(3);
        for (Path pom : poms) {
            var document = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(pom.toFile());
            var lists = document.getElementsByTagName("plugins");
            for (int i = 0; i < lists.getLength(); i++) {
                java.util.Set<String> seen = new java.util.HashSet<>();
                for (var plugin = lists.item(i).getFirstChild(); plugin != null; plugin = plugin.getNextSibling()) {
                    if (plugin instanceof org.w3c.dom.Element element && element.getTagName().equals("plugin")) {
                        String id = text(element, "groupId", "org.apache.maven.plugins") + ":" + text(element, "artifactId", "");
                        if (!seen.add(id)) {
                            repeated.add(ROOT.relativize(pom) + ": " + id);
                        }
                    }
                }
            }
        }
        assertThat(repeated).isEmpty();
    }

    private static String text(org.w3c.dom.Element plugin, String child, String absent) {
        for (var node = plugin.getFirstChild(); node != null; node = node.getNextSibling()) {
            if (node instanceof org.w3c.dom.Element element && element.getTagName().equals(child)) {
                return element.getTextContent().strip();
            }
        }
        return absent;
    }

    @Test
    void the_workflow_runs_the_readmes_test_command_through_ci_run() throws IOException {
        JsonNode workflow = yaml(".github/workflows/ci.yml");
        String readme = Files.readString(ROOT.resolve("README.md"));
        String ciRun = Files.readString(ROOT.resolve(".ci/run"));

        // YAML reads a bare `on:` key as the boolean true; GitHub reads it as the trigger list.
        JsonNode on = workflow.has("on") ? workflow.get("on") : workflow.get("true");
        assertThat(on).as("triggers").isNotNull();
        assertThat(on.has("pull_request")).isTrue();
        assertThat(on.at("/push/tags/0").asText()).isEqualTo("v*");
        JsonNode test = workflow.at("/jobs/test");
        assertThat(runs(test)).contains("bash .ci/run");
        assertThat(readme).contains("./mvnw verify");
        assertThat(ciRun).contains("./mvnw verify");
        List<String> cached = new ArrayList<>();
        test.get("steps").forEach(step -> cached.add(step.at("/with/path").asText()));
        assertThat(String.join("\n", cached)).contains("~/.m2/repository", "~/.cache/knllama");
    }

    @Test
    void images_are_pushed_with_jib_only_on_tags_after_the_tests_with_credentials_from_secrets() throws IOException {
        JsonNode images = yaml(".github/workflows/ci.yml").at("/jobs/images");

        assertThat(images.get("if").asText()).contains("refs/tags/v");
        assertThat(images.get("needs").asText()).isEqualTo("test");
        assertThat(String.join("\n", runs(images))).contains("./scripts/build-images.sh", "jib.to.auth.username",
                "jib.to.auth.password");
        String secrets = images.toString();
        assertThat(secrets).contains("secrets.KNLLAMA_REGISTRY_USERNAME", "secrets.KNLLAMA_REGISTRY_PASSWORD",
                "vars.KNLLAMA_REGISTRY");
        assertThat(Files.readString(ROOT.resolve(".github/workflows/README.md")))
                .contains("KNLLAMA_REGISTRY", "KNLLAMA_REGISTRY_USERNAME", "KNLLAMA_REGISTRY_PASSWORD");
    }

    @Test
    void the_pod_monitor_scrapes_the_user_container_of_the_knllama_service_not_the_queue_proxy() throws IOException {
        JsonNode monitor = yaml("knative/observability/podmonitor.yaml");

        assertThat(monitor.get("apiVersion").asText()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(monitor.get("kind").asText()).isEqualTo("PodMonitor");
        assertThat(monitor.at("/spec/selector/matchLabels/serving.knative.dev~1service").asText()).isEqualTo("knllama");
        JsonNode endpoint = monitor.at("/spec/podMetricsEndpoints/0");
        assertThat(endpoint.get("port").asText()).isEqualTo("user-port");
        assertThat(endpoint.get("path").asText()).isEqualTo("/metrics");
        assertThat(endpoint.get("honorLabels").asBoolean()).isTrue();
    }

    @Test
    void the_plain_scrape_config_keeps_only_the_user_port_of_the_knllama_pods() throws IOException {
        JsonNode job = yaml("knative/observability/prometheus-scrape-config.yaml").at("/scrape_configs/0");

        assertThat(job.get("metrics_path").asText()).isEqualTo("/metrics");
        assertThat(job.at("/kubernetes_sd_configs/0/role").asText()).isEqualTo("pod");
        List<String> keeps = new ArrayList<>();
        job.get("relabel_configs").forEach(rule -> {
            if ("keep".equals(rule.path("action").asText())) {
                keeps.add(rule.get("source_labels").get(0).asText() + "=" + rule.get("regex").asText());
            }
        });
        assertThat(keeps).containsExactly("__meta_kubernetes_pod_label_serving_knative_dev_service=knllama",
                "__meta_kubernetes_pod_container_port_name=user-port");
    }
}
