package io.knllama.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Grafana dashboard against what the function really exports: the packaged function runs as on Knative
 * (K_SERVICE, K_REVISION, K_CONFIGURATION and POD_NAME set), answers a request, and its {@code /metrics}
 * must hold every metric the dashboard's queries name, with every label they group by. The dashboard's
 * structure is checked the way Grafana's import needs it (there is no JSON Schema for the dashboard model
 * in any reachable registry: {@code @grafana/schema} ships TypeScript types, not a schema).
 */
class DashboardIT {

    static final Path DASHBOARD = Path.of("..", "knative", "observability", "grafana-dashboard.json");
    private static final Set<String> PANEL_TYPES = Set.of("row", "timeseries", "stat", "bargauge", "gauge", "table");
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan");
    private static final Map<String, String> KNATIVE = Map.of("K_SERVICE", "knllama", "K_REVISION", "knllama-00001",
            "K_CONFIGURATION", "knllama", "POD_NAME", "knllama-00001-deployment-7d9f-abcde");

    private static FunctionProcess function;
    /** Metric name to the label names its series carry, from a real scrape. */
    private static Map<String, Set<String>> exported;
    private static JsonNode dashboard;

    @BeforeAll
    static void scrape() throws Exception {
        dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        function = FunctionProcess.start("dashboard", KNATIVE);
        HttpClient http = HttpClient.newHttpClient();
        http.send(HttpRequest.newBuilder(function.uri("/v1/chat/completions")).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString("""
                        {"model":"%s","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}"""
                        .formatted(FunctionProcess.MODEL_ID))).build(), HttpResponse.BodyHandlers.ofString());
        String metrics = http.send(HttpRequest.newBuilder(function.uri("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        exported = parse(metrics);
    }

    @AfterAll
    static void stop() {
        if (function != null) {
            function.close();
        }
    }

    /** Prometheus' text format: {@code name{label="value",...} value}, comments skipped. */
    static Map<String, Set<String>> parse(String metrics) {
        Map<String, Set<String>> families = new HashMap<>();
        Pattern label = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"");
        for (String line : metrics.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.indexOf(' ');
            String name = line.substring(0, brace >= 0 && brace < space ? brace : space);
            Set<String> labels = families.computeIfAbsent(name, n -> new HashSet<>());
            if (brace >= 0 && brace < space) {
                Matcher m = label.matcher(line.substring(brace, line.lastIndexOf('}')));
                while (m.find()) {
                    labels.add(m.group(1));
                }
            }
        }
        return families;
    }

    /** The metric names a PromQL expression reads: identifiers that are not functions, keywords or labels. */
    static Set<String> metricNames(String expr) {
        String stripped = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
                .replaceAll("\\{[^}]*}", " ")
                .replaceAll("\\[[^]]*]", " ")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
                .replaceAll("(?<![a-zA-Z_:])\\d+(\\.\\d+)?([eE][-+]?\\d+)?", " ");
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*").matcher(stripped);
        while (m.find()) {
            String rest = stripped.substring(m.end()).stripLeading();
            if (!rest.startsWith("(") && !KEYWORDS.contains(m.group().toLowerCase())) {
                names.add(m.group());
            }
        }
        return names;
    }

    static Set<String> groupingLabels(String expr) {
        Set<String> labels = new TreeSet<>();
        Matcher m = Pattern.compile("\\b(?:by|without)\\s*\\(([^)]*)\\)").matcher(expr);
        while (m.find()) {
            for (String label : m.group(1).split(",")) {
                if (!label.isBlank()) {
                    labels.add(label.strip());
                }
            }
        }
        return labels;
    }

    private static List<JsonNode> panels() {
        List<JsonNode> panels = new ArrayList<>();
        dashboard.get("panels").forEach(panels::add);
        return panels;
    }

    private static List<String> expressions() {
        List<String> exprs = new ArrayList<>();
        for (JsonNode panel : panels()) {
            panel.path("targets").forEach(target -> exprs.add(target.get("expr").asText()));
        }
        return exprs;
    }

    @Test
    void the_expression_parser_finds_metrics_and_ignores_functions_labels_and_numbers() {
        assertThat(metricNames("histogram_quantile(0.95, sum by (le) (rate(a_bucket{x=~\"$y\", z=\"rate(b)\"}[$__rate_interval])))"
                + " / clamp_min(sum(rate(c_total[5m])), 1e-9) and on(pod) d")).containsExactly("a_bucket", "c_total", "d");
        assertThat(groupingLabels("sum by (revision, pod) (x) + sum without(le) (y)")).containsExactly("le", "pod", "revision");
    }

    @Test
    void every_metric_the_dashboard_queries_is_exported_with_the_labels_it_groups_by() {
        List<String> problems = new ArrayList<>();
        List<String> exprs = expressions();
        dashboard.at("/templating/list").forEach(variable -> {
            if ("query".equals(variable.path("type").asText())) {
                exprs.add(variable.at("/query/query").asText().replaceAll("^label_values\\((.*),\\s*(\\w+)\\)$", "count by ($2) ($1)"));
            }
        });
        for (String expr : exprs) {
            Set<String> metrics = metricNames(expr);
            if (metrics.isEmpty()) {
                problems.add("no metric in: " + expr);
            }
            for (String metric : metrics) {
                if (!exported.containsKey(metric)) {
                    problems.add("not exported: " + metric + " (in " + expr + ")");
                }
            }
            for (String label : groupingLabels(expr)) {
                if (metrics.stream().noneMatch(m -> exported.getOrDefault(m, Set.of()).contains(label))) {
                    problems.add("label " + label + " is on none of " + metrics);
                }
            }
        }

        assertThat(problems).isEmpty();
    }

    @Test
    void the_dashboard_covers_every_metric_family_of_the_engine() {
        Set<String> used = new TreeSet<>();
        expressions().forEach(expr -> used.addAll(metricNames(expr)));
        Set<String> families = new TreeSet<>();
        exported.keySet().stream().filter(name -> name.startsWith("knllama_"))
                .map(name -> name.replaceAll("_(bucket|count|sum|max)$", ""))
                .forEach(families::add);

        assertThat(families).isNotEmpty();
        for (String family : families) {
            assertThat(used).as("the dashboard shows %s", family)
                    .anyMatch(name -> name.equals(family) || name.startsWith(family + "_"));
        }
    }

    @Test
    void every_engine_series_carries_the_knative_service_revision_and_pod() {
        exported.forEach((name, labels) -> {
            if (name.startsWith("knllama_")) {
                assertThat(labels).as(name).contains("service", "revision", "configuration", "pod");
            }
        });
    }

    @Test
    void the_dashboard_has_the_structure_grafana_imports() {
        assertThat(dashboard.get("title").asText()).isNotBlank();
        assertThat(dashboard.get("uid").asText()).matches("[a-zA-Z0-9_-]{1,40}");
        assertThat(dashboard.get("schemaVersion").asInt()).isGreaterThanOrEqualTo(36);
        assertThat(dashboard.at("/time/from").asText()).isNotBlank();
        assertThat(dashboard.at("/templating/list").isArray()).isTrue();
        assertThat(dashboard.at("/templating/list/0/type").asText()).isEqualTo("datasource");

        Set<Integer> ids = new HashSet<>();
        List<int[]> boxes = new ArrayList<>();
        for (JsonNode panel : panels()) {
            String title = panel.path("title").asText();
            assertThat(ids.add(panel.get("id").asInt())).as("unique id: %s", title).isTrue();
            assertThat(PANEL_TYPES).as(title).contains(panel.get("type").asText());
            JsonNode grid = panel.get("gridPos");
            int x = grid.get("x").asInt(), y = grid.get("y").asInt(), w = grid.get("w").asInt(), h = grid.get("h").asInt();
            assertThat(w).as(title).isPositive();
            assertThat(h).as(title).isPositive();
            assertThat(x + w).as("%s fits the 24 columns", title).isLessThanOrEqualTo(24);
            for (int[] other : boxes) {
                boolean overlap = x < other[0] + other[2] && other[0] < x + w && y < other[1] + other[3] && other[1] < y + h;
                assertThat(overlap).as("%s overlaps another panel", title).isFalse();
            }
            boxes.add(new int[] {x, y, w, h});
            if (!"row".equals(panel.get("type").asText())) {
                assertThat(panel.at("/datasource/uid").asText()).as(title).isEqualTo("${datasource}");
                assertThat(panel.get("targets").size()).as(title).isPositive();
                Set<String> refIds = new HashSet<>();
                panel.get("targets").forEach(target -> {
                    assertThat(refIds.add(target.get("refId").asText())).as("%s: unique refId", title).isTrue();
                    assertThat(target.get("expr").asText()).as(title).isNotBlank();
                });
            }
        }
    }
}
