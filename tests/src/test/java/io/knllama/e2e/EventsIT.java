package io.knllama.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.http.HttpMessageFactory;
import io.cloudevents.jackson.JsonFormat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** Knative-style event delivery to the function on the real model, events built and read with the CloudEvents SDK. */
class EventsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static FunctionProcess function;

    @BeforeAll
    static void start() {
        // One slot and no queue, so the overload case is easy to reach.
        function = FunctionProcess.start("events", Map.of("KNLLAMA_ENGINE_SLOTS", "1", "KNLLAMA_ENGINE_QUEUE_CAPACITY", "0"));
    }

    @AfterAll
    static void stop() {
        function.close();
    }

    private record Reply(int status, Map<String, String> headers, byte[] body) {
        CloudEvent event() {
            return HttpMessageFactory.createReader(headers, body).toEvent();
        }

        JsonNode data() throws Exception {
            return JSON.readTree(event().getData().toBytes());
        }
    }

    private static CloudEvent event(String type, String data) {
        return CloudEventBuilder.v1().withId(UUID.randomUUID().toString()).withSource(URI.create("/knllama-e2e"))
                .withType(type).withDataContentType("application/json").withData(data.getBytes(StandardCharsets.UTF_8)).build();
    }

    private static Reply send(CloudEvent event, boolean structured) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(function.uri("/")).timeout(Duration.ofSeconds(120));
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        var writer = HttpMessageFactory.createWriter(request::header, body::writeBytes);
        if (structured) {
            writer.writeStructured(event, EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE));
        } else {
            writer.writeBinary(event);
        }
        HttpResponse<byte[]> response = HTTP.send(request.POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        Map<String, String> headers = new HashMap<>();
        response.headers().map().forEach((name, values) -> headers.put(name.toLowerCase(Locale.ROOT), values.getFirst()));
        return new Reply(response.statusCode(), headers, response.body());
    }

    private static String question(String text) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}],\"max_tokens\":24,\"temperature\":0}";
    }

    @Test
    void a_single_prompt_is_answered_in_binary_and_in_structured_mode() throws Exception {
        for (boolean structured : new boolean[] {false, true}) {
            CloudEvent prompt = event("io.knllama.prompt.v1", question("What is the capital of France?"));

            Reply reply = send(prompt, structured);

            assertThat(reply.status()).isEqualTo(200);
            assertThat(reply.event().getType()).isEqualTo("io.knllama.completion.v1");
            assertThat(reply.event().getSubject()).isEqualTo(prompt.getId());
            assertThat(reply.data().at("/choices/0/message/content").asText()).contains("Paris");
        }
    }

    @Test
    void a_batch_of_valid_and_invalid_items_ends_with_a_result_or_an_error_for_every_item() throws Exception {
        String batch = """
                {"requests":[
                  {"custom_id":"france","body":%s},
                  {"custom_id":"negative-tokens","body":{"messages":[{"role":"user","content":"hi"}],"max_tokens":-1}},
                  {"custom_id":"math","body":%s},
                  {"custom_id":"tools","body":{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function"}]}},
                  {"custom_id":"completion","url":"/v1/completions","body":{"prompt":"Question: What is the capital of France?\\nAnswer:","max_tokens":6,"temperature":0}}]}"""
                .formatted(question("What is the capital of France?"), question("What is 2+2?"));

        Reply reply = send(event("io.knllama.batch.v1", batch), false);

        assertThat(reply.status()).isEqualTo(200);
        JsonNode result = reply.data();
        List<String> ids = result.get("results").findValuesAsText("custom_id");
        assertThat(ids).containsExactly("france", "negative-tokens", "math", "tools", "completion");
        Set<String> answered = new HashSet<>();
        for (JsonNode item : result.get("results")) {
            boolean ok = !item.get("response").isNull();
            assertThat(ok).as(item.toString()).isNotEqualTo(!item.get("error").isNull());
            if (ok) {
                answered.add(item.get("custom_id").asText());
            }
        }
        assertThat(answered).containsExactlyInAnyOrder("france", "math", "completion");
        assertThat(result.at("/results/0/response/body/choices/0/message/content").asText()).contains("Paris");
        assertThat(result.at("/results/4/response/body/choices/0/text").asText()).contains("Paris");
        assertThat(result.at("/counts/completed").asInt()).isEqualTo(3);
        assertThat(result.at("/counts/failed").asInt()).isEqualTo(2);
    }

    @Test
    void a_duplicate_delivery_is_answered_once() throws Exception {
        CloudEvent prompt = event("io.knllama.prompt.v1", question("What is 2+2?"));

        CompletableFuture<Reply> first = CompletableFuture.supplyAsync(() -> sendUnchecked(prompt));
        FunctionProcess.sleep(50);
        Reply redelivered = send(prompt, false);

        assertThat(redelivered.status()).isEqualTo(200);
        assertThat(first.get().event().getId()).isEqualTo(redelivered.event().getId());
        assertThat(redelivered.data().at("/choices/0/message/content").asText()).contains("4");
    }

    @Test
    void an_overloaded_function_answers_503_with_retry_after_so_the_broker_retries() throws Exception {
        function.awaitIdle();
        try (Sse busy = Sse.open(function.uri("/v1/chat/completions"), Sse.chat("Tell a long story.", 500), Duration.ofSeconds(120))) {
            assertThat(busy.next()).contains("assistant");

            Reply prompt = send(event("io.knllama.prompt.v1", question("hi")), false);
            Reply batch = send(event("io.knllama.batch.v1", "[{\"custom_id\":\"a\",\"body\":" + question("hi") + "}]"), false);

            for (Reply reply : List.of(prompt, batch)) {
                assertThat(reply.status()).isEqualTo(503);
                assertThat(reply.headers().get("retry-after")).matches("[1-9][0-9]*");
            }
        }
    }

    private static Reply sendUnchecked(CloudEvent event) {
        try {
            return send(event, false);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
