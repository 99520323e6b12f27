package io.knllama.events;

import com.sun.net.httpserver.HttpServer;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.http.HttpMessageFactory;
import io.cloudevents.jackson.JsonFormat;
import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/** CloudEvents in both HTTP modes, built and read with the CloudEvents SDK, against the scripted tiny model. */
class EventsTest {

    private static final JsonMapper JSON = JsonMapper.createDefault();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static TestServer server;
    private static HttpServer sink;
    private static final List<CloudEvent> SUNK = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws IOException {
        sink = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        sink.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            SUNK.add(HttpMessageFactory.createReader(firstValues(exchange.getRequestHeaders()), body).toEvent());
            exchange.sendResponseHeaders(202, -1);
            exchange.close();
        });
        sink.start();
        server = TestServer.start(TinyModel.builder().script("\u2581hello", "\u2581world", TinyModel.EOS).build(), Map.of(
                "knllama.events.max-batch-items", 4,
                "knllama.events.max-event-size", "1MB",
                "knllama.events.sink", "http://127.0.0.1:" + sink.getAddress().getPort() + "/sink"));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        sink.stop(0);
    }

    private record Reply(int status, Map<String, List<String>> headers, byte[] body) {
        CloudEvent event() {
            return HttpMessageFactory.createReader(firstValues(headers), body).toEvent();
        }

        JsonNode data() throws IOException {
            return JSON.readValue(event().getData().toBytes(), JsonNode.class);
        }

        JsonNode error() throws IOException {
            return JSON.readValue(body, JsonNode.class).get("error");
        }

        String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .flatMap(e -> e.getValue().stream()).findFirst().orElse(null);
        }
    }

    private static CloudEvent event(String type, String data) {
        return CloudEventBuilder.v1().withId(UUID.randomUUID().toString()).withSource(URI.create("/test"))
                .withType(type).withDataContentType("application/json")
                .withData(data.getBytes(StandardCharsets.UTF_8)).build();
    }

    private static Reply send(String path, CloudEvent event, boolean structured) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.uri(path)).timeout(Duration.ofSeconds(60));
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        var writer = HttpMessageFactory.createWriter(request::header, body::writeBytes);
        if (structured) {
            writer.writeStructured(event, EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE));
        } else {
            writer.writeBinary(event);
        }
        HttpResponse<byte[]> response = HTTP.send(request.POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        return new Reply(response.statusCode(), response.headers().map(), response.body());
    }

    private static final String PROMPT = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    @Test
    void a_prompt_in_binary_mode_is_answered_with_a_completion_event_in_binary_mode() throws Exception {
        CloudEvent prompt = event(EventTypes.PROMPT, PROMPT);

        Reply reply = send("/", prompt, false);

        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.header("ce-type")).isEqualTo(EventTypes.COMPLETION);
        CloudEvent completion = reply.event();
        assertThat(completion.getSubject()).isEqualTo(prompt.getId());
        assertThat(completion.getSource()).isEqualTo(URI.create("/knllama"));
        JsonNode data = reply.data();
        assertThat(data.get("object").getStringValue()).isEqualTo("chat.completion");
        assertThat(data.get("choices").get(0).get("message").get("content").getStringValue()).isEqualTo(" hello world");
    }

    @Test
    void a_prompt_in_structured_mode_is_answered_in_structured_mode() throws Exception {
        Reply reply = send("/events", event(EventTypes.PROMPT, PROMPT), true);

        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.header("content-type")).startsWith("application/cloudevents+json");
        assertThat(reply.event().getType()).isEqualTo(EventTypes.COMPLETION);
        assertThat(reply.data().get("choices").get(0).get("finish_reason").getStringValue()).isEqualTo("stop");
    }

    @Test
    void a_batch_of_valid_and_invalid_items_reports_each_item_in_order() throws Exception {
        String batch = """
                {"requests":[
                  {"custom_id":"ok-chat","body":{"messages":[{"role":"user","content":"hi"}]}},
                  {"custom_id":"bad","body":{"messages":[{"role":"user","content":"hi"}],"temperature":5}},
                  {"custom_id":"ok-text","method":"POST","url":"/v1/completions","body":{"prompt":"say"}},
                  {"custom_id":"wrong-model","body":{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}}]}""";
        SUNK.clear();

        Reply reply = send("/", event(EventTypes.BATCH, batch), false);

        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.event().getType()).isEqualTo(EventTypes.BATCH_RESULT);
        JsonNode result = reply.data();
        assertThat(result.get("counts").get("total").getIntValue()).isEqualTo(4);
        assertThat(result.get("counts").get("completed").getIntValue()).isEqualTo(2);
        assertThat(result.get("counts").get("failed").getIntValue()).isEqualTo(2);
        JsonNode items = result.get("results");
        assertThat(items.get(0).get("custom_id").getStringValue()).isEqualTo("ok-chat");
        assertThat(items.get(0).get("response").get("status_code").getIntValue()).isEqualTo(200);
        assertThat(items.get(0).get("response").get("body").get("choices").get(0).get("message").get("content").getStringValue())
                .isEqualTo(" hello world");
        assertThat(items.get(1).get("custom_id").getStringValue()).isEqualTo("bad");
        assertThat(items.get(1).get("response").isNull()).isTrue();
        assertThat(items.get(1).get("error").get("status_code").getIntValue()).isEqualTo(400);
        assertThat(items.get(1).get("error").get("param").getStringValue()).isEqualTo("temperature");
        assertThat(items.get(2).get("response").get("body").get("object").getStringValue()).isEqualTo("text_completion");
        assertThat(items.get(3).get("error").get("message").getStringValue()).contains("gpt-4o");
        assertThat(items.get(3).get("error").get("param").getStringValue()).isEqualTo("requests[wrong-model].body.model");
    }

    @Test
    void a_batch_item_with_a_seed_beyond_a_long_fails_alone_and_the_batch_is_answered() throws Exception {
        String batch = "[{\"custom_id\":\"big-seed\",\"body\":{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"seed\":9223372036854775808}},{\"custom_id\":\"ok\",\"body\":" + PROMPT + "}]";

        Reply reply = send("/", event(EventTypes.BATCH, batch), false);

        assertThat(reply.status()).isEqualTo(200);
        JsonNode items = reply.data().get("results");
        assertThat(items.get(0).get("error").get("status_code").getIntValue()).isEqualTo(400);
        assertThat(items.get(0).get("error").get("param").getStringValue()).isEqualTo("seed");
        assertThat(items.get(0).get("error").get("code").getStringValue()).isEqualTo("invalid_value");
        assertThat(items.get(1).get("response").get("status_code").getIntValue()).isEqualTo(200);
    }

    @Test
    void each_batch_item_is_also_sent_to_k_sink_as_its_own_event() throws Exception {
        SUNK.clear();
        String batch = "[{\"custom_id\":\"a\",\"body\":" + PROMPT + "},{\"custom_id\":\"b\",\"body\":" + PROMPT + "}]";

        CloudEvent request = event(EventTypes.BATCH, batch);
        assertThat(send("/", request, false).status()).isEqualTo(200);

        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (SUNK.size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(SUNK).extracting(CloudEvent::getSubject).containsExactlyInAnyOrder("a", "b");
        assertThat(SUNK).allSatisfy(item -> {
            assertThat(item.getType()).isEqualTo(EventTypes.BATCH_ITEM);
            assertThat(item.getExtension("knllamabatch")).isEqualTo(request.getId());
        });
    }

    @Test
    void a_redelivered_event_gets_the_same_reply_without_doing_the_work_again() throws Exception {
        CloudEvent prompt = event(EventTypes.PROMPT, PROMPT);
        double before = completedRequests();

        CompletableFuture<Reply> first = CompletableFuture.supplyAsync(() -> sendUnchecked(prompt));
        CompletableFuture<Reply> second = CompletableFuture.supplyAsync(() -> sendUnchecked(prompt));
        Reply late = sendUnchecked(prompt);

        assertThat(first.get().event().getId()).isEqualTo(second.get().event().getId()).isEqualTo(late.event().getId());
        assertThat(completedRequests() - before).isEqualTo(1.0);
    }

    @Test
    void an_event_reusing_a_source_and_id_with_other_data_is_answered_on_its_own_not_with_the_first_reply() throws Exception {
        CloudEvent first = event(EventTypes.PROMPT, PROMPT);
        CloudEvent reused = CloudEventBuilder.v1(first).withData("application/json",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"something else\"}]}".getBytes(StandardCharsets.UTF_8)).build();
        double before = completedRequests();

        Reply one = send("/", first, false);
        Reply other = send("/", reused, false);

        assertThat(other.event().getId()).isNotEqualTo(one.event().getId());
        assertThat(completedRequests() - before).isEqualTo(2.0);
    }

    @Test
    void an_event_larger_than_the_configured_size_is_refused_with_413_which_knative_does_not_retry() throws Exception {
        String huge = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(1_100_000) + "\"}]}";

        Reply reply = send("/", event(EventTypes.PROMPT, huge), true);

        assertThat(reply.status()).isEqualTo(413);
        assertThat(reply.error().get("code").getStringValue()).isEqualTo("request_too_large");
    }

    @Test
    void a_batch_of_items_naming_a_huge_model_gets_a_reply_that_does_not_echo_it() throws Exception {
        String model = "m".repeat(120_000);
        String batch = "[" + String.join(",", java.util.Collections.nCopies(4, "{\"custom_id\":\"%s\",\"body\":{\"model\":\""
                + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}}")).formatted("1", "2", "3", "4") + "]";

        Reply reply = send("/", event(EventTypes.BATCH, batch), false);

        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.data().get("counts").get("failed").getIntValue()).isEqualTo(4);
        assertThat(reply.event().getData().toBytes().length).as("reply bytes").isLessThan(4 * 1024);
    }

    @Test
    void a_pingsource_event_of_any_type_runs_as_a_batch_at_events_batch() throws Exception {
        Reply reply = send("/events/batch", event("dev.knative.sources.ping",
                "{\"requests\":[{\"custom_id\":\"nightly\",\"body\":" + PROMPT + "}]}"), false);

        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.data().get("results").get(0).get("custom_id").getStringValue()).isEqualTo("nightly");
    }

    @Test
    void events_that_can_never_succeed_get_400_so_they_go_to_the_dead_letter_sink() throws Exception {
        assertThat(send("/", event("com.example.unknown", PROMPT), false).status()).isEqualTo(400);
        assertThat(send("/", event(EventTypes.PROMPT, "not json"), false).status()).isEqualTo(400);
        assertThat(send("/", event(EventTypes.PROMPT, "{\"messages\":[]}"), false).status()).isEqualTo(400);
        assertThat(send("/", event(EventTypes.PROMPT, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), false)
                .status()).as("an unknown model is not retried").isEqualTo(400);
        String five = "[" + String.join(",", java.util.Collections.nCopies(5, "{\"custom_id\":\"%s\",\"body\":{}}"))
                .formatted("1", "2", "3", "4", "5") + "]";
        Reply oversize = send("/", event(EventTypes.BATCH, five), false);
        assertThat(oversize.status()).isEqualTo(400);
        assertThat(oversize.error().get("message").getStringValue()).contains("1 to 4");
        assertThat(send("/", event(EventTypes.BATCH, "[{\"custom_id\":\"x\",\"body\":{}},{\"custom_id\":\"x\",\"body\":{}}]"), false)
                .status()).isEqualTo(400);
        assertThat(send("/", event(EventTypes.BATCH, "[{\"body\":{}}]"), false).status()).isEqualTo(400);
        for (String data : List.of("null", "", "5", "\"x\"", "{}", "{\"requests\":null}")) {
            assertThat(send("/", event(EventTypes.BATCH, data), false).status()).as("batch data %s", data).isEqualTo(400);
            assertThat(send("/", event(EventTypes.PROMPT, data), false).status()).as("prompt data %s", data).isEqualTo(400);
        }

        var notAnEvent = server.post("/", "{\"hello\":\"world\"}");
        assertThat(notAnEvent.status()).isEqualTo(400);
        assertThat(notAnEvent.json().get("error").get("code").getStringValue()).isEqualTo("invalid_event");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{\"specversion\":\"1.0\",\"id\":\"x\"}",
        "[]",
        "null",
        "1",
        "\"event\"",
        "{}",
        "{\"specversion\":\"0.1\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"io.knllama.prompt.v1\"}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"io.knllama.prompt.v1\",\"data_base64\":\"!!not base64!!\"}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"io.knllama.prompt.v1\",\"data_base64\":5}",
        "{\"specversion\":\"1.0\",\"id\":5,\"source\":\"/s\",\"type\":\"io.knllama.prompt.v1\"}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"io.knllama.prompt.v1\",\"time\":\"yesterday\"}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"io.knllama.prompt.v1\",\"data\":",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"io.knllama.prompt.v1\",\"data\":\"a\",\"data_base64\":\"YQ==\"}"})
    void a_malformed_structured_event_is_a_400_invalid_event_so_it_is_dead_lettered_not_retried(String body) {
        var response = server.send(HttpRequest.newBuilder(server.uri("/")).header("Content-Type", "application/cloudevents+json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));

        assertThat(response.status()).as(response.body()).isEqualTo(400);
        assertThat(response.json().get("error").get("code").getStringValue()).isEqualTo("invalid_event");
        assertThat(response.body()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"ce-specversion:1.0", "ce-specversion:1.0,ce-id:x,ce-source:/s", "ce-specversion:9.9,ce-id:x,ce-source:/s,ce-type:t",
            "ce-specversion:1.0,ce-id:x,ce-source:/s,ce-type:io.knllama.prompt.v1,ce-time:yesterday"})
    void a_malformed_binary_event_is_a_400_invalid_event(String headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.uri("/")).header("Content-Type", "application/json");
        for (String header : headers.split(",")) {
            request.header(header.substring(0, header.indexOf(':')), header.substring(header.indexOf(':') + 1));
        }
        var response = server.send(request.POST(HttpRequest.BodyPublishers.ofString(PROMPT)));

        assertThat(response.status()).as(response.body()).isEqualTo(400);
        assertThat(response.json().get("error").get("code").getStringValue()).isEqualTo("invalid_event");
    }

    private static Map<String, String> firstValues(Map<String, List<String>> headers) {
        Map<String, String> first = new java.util.HashMap<>();
        headers.forEach((name, values) -> {
            if (name != null && !values.isEmpty()) {
                first.put(name.toLowerCase(java.util.Locale.ROOT), values.getFirst());
            }
        });
        return first;
    }

    private static Reply sendUnchecked(CloudEvent event) {
        try {
            return send("/", event, false);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static double completedRequests() {
        String metrics = server.get("/metrics").body();
        java.util.regex.Matcher stop = java.util.regex.Pattern.compile("knllama_requests_total\\{outcome=\"stop\"} ([0-9.]+)").matcher(metrics);
        return stop.find() ? Double.parseDouble(stop.group(1)) : 0;
    }
}
