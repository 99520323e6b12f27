package io.knllama.ollama;

import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/** The Ollama API over HTTP, against a model scripted to answer " hello world" and stop. */
class OllamaApiTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(TinyModel.builder().script("\u2581hello", "\u2581world", TinyModel.EOS).build(),
                Map.of("knllama.model.embeddings", true));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static String chat(String extra) {
        return """
                {"model":"tiny","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi there"}]%s}
                """.formatted(extra);
    }

    private static Set<String> fields(JsonNode object) {
        Set<String> names = new TreeSet<>();
        object.entries().forEach(entry -> names.add(entry.getKey()));
        return names;
    }

    private static List<JsonNode> lines(TestServer.Stream stream) throws Exception {
        List<JsonNode> objects = new ArrayList<>();
        String line;
        while ((line = stream.nextLine()) != null) {
            assertThat(line).as("one JSON object per line").isNotBlank();
            objects.add(stream.parse(line));
        }
        return objects;
    }

    @Test
    void a_non_streamed_chat_is_one_object_with_the_answer_the_reason_and_timings_in_nanoseconds() {
        var response = server.post("/api/chat", chat(",\"stream\":false"));

        assertThat(response.status()).isEqualTo(200);
        assertThat(response.header("content-type")).startsWith("application/json");
        JsonNode body = response.json();
        assertThat(body.get("model").getStringValue()).isEqualTo("tiny");
        assertThat(body.get("created_at").getStringValue()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
        assertThat(body.get("message").get("role").getStringValue()).isEqualTo("assistant");
        assertThat(body.get("message").get("content").getStringValue()).isEqualTo(" hello world");
        assertThat(body.get("done").getBooleanValue()).isTrue();
        assertThat(body.get("done_reason").getStringValue()).isEqualTo("stop");
        // " hello", " world" and the end-of-sequence token
        assertThat(body.get("eval_count").getIntValue()).isEqualTo(3);
        assertThat(body.get("prompt_eval_count").getIntValue()).isGreaterThan(5);
        long total = body.get("total_duration").getLongValue();
        assertThat(body.get("eval_duration").getLongValue()).isPositive().isLessThan(total);
        assertThat(body.get("prompt_eval_duration").getLongValue()).isPositive().isLessThan(total);
        // nanoseconds: a generation on the tiny model takes well over a microsecond and under a minute
        assertThat(total).isBetween(1_000L, 60_000_000_000L);
        assertThat(body.get("load_duration").getLongValue()).isNotNegative();
        assertThat(fields(body)).containsExactlyInAnyOrder("model", "created_at", "message", "done", "done_reason",
                "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration");
    }

    @Test
    void a_chat_streams_by_default_as_newline_delimited_json_ending_with_done() throws Exception {
        try (var stream = server.stream("/api/chat", chat(""))) {
            assertThat(stream.status()).isEqualTo(200);
            assertThat(stream.header("content-type")).startsWith("application/x-ndjson");
            List<JsonNode> objects = lines(stream);

            StringBuilder content = new StringBuilder();
            for (JsonNode piece : objects.subList(0, objects.size() - 1)) {
                assertThat(piece.get("done").getBooleanValue()).isFalse();
                assertThat(fields(piece)).containsExactlyInAnyOrder("model", "created_at", "message", "done");
                content.append(piece.get("message").get("content").getStringValue());
            }
            assertThat(content.toString()).isEqualTo(" hello world");
            JsonNode last = objects.getLast();
            assertThat(last.get("done").getBooleanValue()).isTrue();
            assertThat(last.get("done_reason").getStringValue()).isEqualTo("stop");
            assertThat(last.get("message").get("content").getStringValue()).isEmpty();
            assertThat(last.get("eval_count").getIntValue()).isEqualTo(3);
            assertThat(last.get("eval_duration").getLongValue()).isPositive();
        }
    }

    @Test
    void num_predict_cuts_the_answer_with_done_reason_length() {
        JsonNode body = server.post("/api/chat", chat(",\"stream\":false,\"options\":{\"num_predict\":1}")).json();

        assertThat(body.get("message").get("content").getStringValue()).isEqualTo(" hello");
        assertThat(body.get("done_reason").getStringValue()).isEqualTo("length");
        assertThat(body.get("eval_count").getIntValue()).isEqualTo(1);
    }

    @Test
    void a_stop_option_ends_the_answer_without_including_it() {
        JsonNode body = server.post("/api/chat", chat(",\"stream\":false,\"options\":{\"stop\":[\"world\"],\"temperature\":0,"
                + "\"seed\":-1,\"top_k\":40,\"top_p\":0.9,\"min_p\":0.05,\"repeat_penalty\":1.1,\"num_ctx\":512,\"num_gpu\":0,"
                + "\"num_thread\":2,\"use_mmap\":true,\"typical_p\":1.0,\"mirostat\":0,\"repeat_last_n\":64}")).json();

        assertThat(body.get("message").get("content").getStringValue()).isEqualTo(" hello ");
        assertThat(body.get("done_reason").getStringValue()).isEqualTo("stop");
    }

    @Test
    void the_model_is_found_with_or_without_the_latest_tag_and_echoed_as_sent() {
        JsonNode body = server.post("/api/chat", chat(",\"stream\":false").replace("\"tiny\"", "\"tiny:latest\"")).json();

        assertThat(body.get("model").getStringValue()).isEqualTo("tiny:latest");
        assertThat(body.get("message").get("content").getStringValue()).isEqualTo(" hello world");
    }

    @Test
    void fields_ollama_clients_send_that_change_nothing_here_are_accepted() {
        var response = server.post("/api/chat", chat(",\"stream\":false,\"keep_alive\":\"5m\",\"think\":false,\"tools\":[],"
                + "\"useTools\":true,\"format\":\"\",\"truncate\":true,\"options\":null,\"template\":null"));

        assertThat(response.status()).as(response.body()).isEqualTo(200);
        assertThat(response.json().get("message").get("content").getStringValue()).isEqualTo(" hello world");
    }

    @Test
    void generate_renders_the_prompt_as_a_user_turn_or_passes_it_raw() {
        JsonNode templated = server.post("/api/generate", "{\"model\":\"tiny\",\"prompt\":\"hi\",\"system\":\"be brief\","
                + "\"stream\":false}").json();
        JsonNode raw = server.post("/api/generate", "{\"model\":\"tiny\",\"prompt\":\"hi\",\"raw\":true,\"stream\":false,"
                + "\"options\":{\"num_predict\":2}}").json();

        assertThat(templated.get("response").getStringValue()).isEqualTo(" hello world");
        assertThat(templated.get("done_reason").getStringValue()).isEqualTo("stop");
        assertThat(templated.get("context")).as("no token context: it could not be sent back").isNull();
        assertThat(raw.get("response").getStringValue()).isEqualTo(" hello world");
        assertThat(raw.get("done_reason").getStringValue()).isEqualTo("length");
        assertThat(raw.get("prompt_eval_count").getIntValue())
                .isLessThan(templated.get("prompt_eval_count").getIntValue());
    }

    @Test
    void generate_streams_pieces_then_a_done_object() throws Exception {
        try (var stream = server.stream("/api/generate", "{\"model\":\"tiny\",\"prompt\":\"hi\"}")) {
            List<JsonNode> objects = lines(stream);

            String text = objects.stream().map(o -> o.get("response").getStringValue()).reduce("", String::concat);
            assertThat(text).isEqualTo(" hello world");
            assertThat(objects.getLast().get("done").getBooleanValue()).isTrue();
            assertThat(objects.getLast().get("done_reason").getStringValue()).isEqualTo("stop");
            assertThat(objects.getFirst().get("done").getBooleanValue()).isFalse();
        }
    }

    @Test
    void a_request_with_nothing_to_generate_loads_or_unloads_at_once() throws Exception {
        JsonNode load = server.post("/api/chat", "{\"model\":\"tiny\",\"messages\":[],\"stream\":false}").json();
        JsonNode unload = server.post("/api/generate", "{\"model\":\"tiny\",\"keep_alive\":0,\"stream\":false}").json();

        assertThat(load.get("done").getBooleanValue()).isTrue();
        assertThat(load.get("done_reason").getStringValue()).isEqualTo("load");
        assertThat(load.get("message").get("content").getStringValue()).isEmpty();
        assertThat(unload.get("done_reason").getStringValue()).isEqualTo("unload");
        try (var stream = server.stream("/api/generate", "{\"model\":\"tiny\"}")) {
            assertThat(stream.header("content-type")).startsWith("application/x-ndjson");
            List<JsonNode> objects = lines(stream);
            assertThat(objects).hasSize(1);
            assertThat(objects.getFirst().get("done_reason").getStringValue()).isEqualTo("load");
        }
    }

    @Test
    void tags_ps_show_and_version_describe_the_served_model_in_ollamas_fields() {
        JsonNode tags = server.get("/api/tags").json();
        JsonNode ps = server.get("/api/ps").json();
        var show = server.post("/api/show", "{\"model\":\"tiny:latest\"}");
        JsonNode version = server.get("/api/version").json();

        assertThat(fields(tags)).containsExactly("models");
        JsonNode tag = tags.get("models").get(0);
        assertThat(fields(tag)).containsExactlyInAnyOrder("name", "model", "modified_at", "size", "digest", "details");
        assertThat(tag.get("name").getStringValue()).isEqualTo("tiny:latest");
        assertThat(tag.get("digest").getStringValue()).matches("[0-9a-f]{64}");
        assertThat(tag.get("size").getLongValue()).isPositive();
        JsonNode details = tag.get("details");
        assertThat(fields(details)).containsExactlyInAnyOrder("parent_model", "format", "family", "families",
                "parameter_size", "quantization_level");
        assertThat(details.get("format").getStringValue()).isEqualTo("gguf");
        assertThat(details.get("family").getStringValue()).isEqualTo("llama");

        JsonNode running = ps.get("models").get(0);
        assertThat(running.get("name").getStringValue()).isEqualTo("tiny:latest");
        assertThat(running.get("context_length").getIntValue()).isEqualTo(512);
        assertThat(running.get("expires_at").getStringValue()).startsWith("2318-");

        assertThat(show.status()).isEqualTo(200);
        assertThat(show.json().get("capabilities").get(0).getStringValue()).isEqualTo("completion");
        assertThat(show.json().get("model_info").get("general.architecture").getStringValue()).isEqualTo("llama");
        assertThat(fields(version)).containsExactly("version");
        assertThat(version.get("version").getStringValue()).matches("\\d+\\.\\d+\\.\\d+");
    }

    @Test
    void embed_returns_unit_vectors_in_ollamas_exact_fields() {
        JsonNode body = server.post("/api/embed", "{\"model\":\"tiny\",\"input\":[\"hello world\",\"the sea\"],"
                + "\"truncate\":true,\"options\":null,\"keep_alive\":null}").json();

        assertThat(fields(body)).containsExactlyInAnyOrder("model", "embeddings", "total_duration", "load_duration",
                "prompt_eval_count");
        assertThat(body.get("embeddings").size()).isEqualTo(2);
        JsonNode vector = body.get("embeddings").get(0);
        assertThat(vector.size()).isEqualTo(TinyModel.EMBEDDING);
        double sum = 0;
        for (int i = 0; i < vector.size(); i++) {
            sum += Math.pow(vector.get(i).getNumberValue().doubleValue(), 2);
        }
        assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        assertThat(body.get("prompt_eval_count").getIntValue()).isGreaterThanOrEqualTo(4);
        assertThat(server.post("/api/embed", "{\"model\":\"tiny\",\"input\":[]}").json().get("embeddings").size()).isZero();
    }

    @Test
    void bodies_are_read_whatever_their_content_type_from_programs_as_curl_and_some_clients_send_them() {
        var form = server.send(HttpRequest.newBuilder(server.uri("/api/chat"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(chat(",\"stream\":false"))));
        var none = server.send(HttpRequest.newBuilder(server.uri("/api/embed"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tiny\",\"input\":\"hi\"}")));

        assertThat(form.status()).as(form.body()).isEqualTo(200);
        assertThat(form.json().get("message").get("content").getStringValue()).isEqualTo(" hello world");
        assertThat(none.status()).as(none.body()).isEqualTo(200);
    }

    /**
     * What a web page can send to any origin without a CORS preflight, which browsers mark with an Origin header.
     * The page is on another localhost port: Micronaut itself refuses (403) a foreign origin calling a server
     * addressed as localhost, but not one addressed by its Knative host name, which is where this check matters.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"text/plain", "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""})
    void a_body_a_web_page_could_send_cross_origin_without_a_preflight_is_refused(String type) {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.uri("/api/generate")).header("Origin", "http://localhost:8000")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tiny\",\"prompt\":\"hi\",\"stream\":false}"));
        if (!type.isEmpty()) {
            request.header("Content-Type", type);
        }

        var response = server.send(request);

        assertThat(response.status()).isEqualTo(415);
        assertThat(response.json().get("error").getStringValue()).contains("application/json");
    }

    @Test
    void a_web_page_sending_json_after_a_preflight_is_served() {
        var response = server.send(HttpRequest.newBuilder(server.uri("/api/generate")).header("Origin", "http://localhost:3000")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"tiny\",\"prompt\":\"hi\",\"stream\":false}")));

        assertThat(response.status()).isEqualTo(200);
    }

    /** One of each kind the parser refuses ({@link OllamaRequestsTest} has them all), over HTTP: 400 in Ollama's shape. */
    @Test
    void requests_that_cannot_be_honoured_get_400_with_ollamas_error_shape_naming_the_field() {
        Map<String, String[]> refused = new java.util.LinkedHashMap<>();
        refused.put("/api/chat", new String[] {chat(",\"think\":true"), "'think'"});
        refused.put("/api/generate", new String[] {"{\"model\":\"tiny\",\"prompt\":\"hi\",\"options\":{\"temprature\":0.5}}",
                "'options.temprature' is not an Ollama option"});
        refused.put("/api/embed", new String[] {"{\"model\":", "not valid JSON"});
        refused.put("/api/show", new String[] {"[1,2]", "JSON object"});
        for (Map.Entry<String, String[]> request : refused.entrySet()) {
            var response = server.post(request.getKey(), request.getValue()[0]);

            assertThat(response.status()).as(request.getKey()).isEqualTo(400);
            JsonNode body = response.json();
            assertThat(fields(body)).as(request.getKey()).containsExactly("error");
            assertThat(body.get("error").getStringValue()).as(request.getKey()).contains(request.getValue()[1]);
        }
    }

    @Test
    void an_unknown_model_is_404_and_unknown_routes_and_model_management_are_errors_in_ollamas_shape() {
        var chat = server.post("/api/chat", chat("").replace("\"tiny\"", "\"llama3:8b\""));
        var show = server.post("/api/show", "{\"name\":\"llama3\"}");
        var pull = server.post("/api/pull", "{\"model\":\"llama3\"}");
        var unknown = server.get("/api/nothing-here");

        assertThat(chat.status()).isEqualTo(404);
        assertThat(chat.json().get("error").getStringValue()).contains("llama3:8b").contains("tiny:latest");
        assertThat(show.status()).isEqualTo(404);
        assertThat(pull.status()).isEqualTo(400);
        assertThat(pull.json().get("error").getStringValue()).contains("one model");
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(fields(unknown.json())).containsExactly("error");
    }

    /**
     * keep_alive values that a backtracking regex took seconds (quadratic) or a stack overflow on, sent together:
     * each is answered, and liveness probes, which share Netty's event loop with request parsing, keep answering
     * within a probe's timeout meanwhile.
     */
    @Test
    void hostile_keep_alive_values_are_answered_while_liveness_probes_keep_answering() throws Exception {
        Map<String, String> expected = Map.of(
                "0m".repeat(3000) + "1s", "load",
                "0".repeat(200_000) + "1s", "load",
                "0m".repeat(200_000), "unload",
                "0".repeat(200_000) + "x", "400");
        List<Integer> probes = new ArrayList<>();
        Map<String, java.util.concurrent.Future<TestServer.Response>> answers = new java.util.HashMap<>();
        try (var clients = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            for (int round = 0; round < 4; round++) {
                for (String keepAlive : expected.keySet()) {
                    answers.put(round + ":" + keepAlive, clients.submit(() -> server.post("/api/generate",
                            "{\"model\":\"tiny\",\"stream\":false,\"keep_alive\":\"" + keepAlive + "\"}")));
                }
            }
            do {
                probes.add(liveness());
            } while (answers.values().stream().anyMatch(answer -> !answer.isDone()));
        }

        assertThat(probes).isNotEmpty().containsOnly(200);
        for (var answer : answers.entrySet()) {
            TestServer.Response response = answer.getValue().get();
            String want = expected.get(answer.getKey().substring(answer.getKey().indexOf(':') + 1));
            if (want.equals("400")) {
                assertThat(response.status()).isEqualTo(400);
                assertThat(response.json().get("error").getStringValue()).contains("keep_alive").hasSizeLessThan(300);
            } else {
                assertThat(response.status()).isEqualTo(200);
                assertThat(response.json().get("done_reason").getStringValue()).isEqualTo(want);
            }
        }
    }

    /** A liveness probe as the kubelet sends it, with a probe's timeout; -1 when it times out. */
    private static int liveness() {
        try {
            return server.send(HttpRequest.newBuilder(server.uri("/health/liveness")).timeout(java.time.Duration.ofSeconds(5)).GET())
                    .status();
        } catch (java.io.UncheckedIOException timedOut) {
            return -1;
        }
    }

    /** On a server of its own: the shared one has answered other tests' requests, and so given its one report already. */
    @Test
    void load_duration_is_reported_once_then_zero() throws Exception {
        try (TestServer fresh = TestServer.start(TinyModel.builder().script("\u2581hello", TinyModel.EOS).build(), Map.of())) {
            List<Long> reported = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                reported.add(fresh.post("/api/chat", chat(",\"stream\":false")).json().get("load_duration").getLongValue());
            }

            assertThat(reported.getFirst()).as("the model's load time, on the first answer").isPositive();
            assertThat(reported.subList(1, 3)).as("every later answer").containsOnly(0L);
        }
    }
}
