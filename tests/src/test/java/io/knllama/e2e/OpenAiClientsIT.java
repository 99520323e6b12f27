package io.knllama.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The real Gemma 3 270M model behind the function, driven by the clients people actually use. */
class OpenAiClientsIT {

    private static final String QUESTION = "What is the capital of France?";
    private static FunctionProcess function;

    @BeforeAll
    static void start() {
        function = FunctionProcess.start("clients", Map.of("KNLLAMA_ENGINE_SLOTS", "2"));
    }

    @AfterAll
    static void stop() {
        function.close();
    }

    private static OpenAIClient openAi() {
        return OpenAIOkHttpClient.builder().baseUrl(function.baseUrl()).apiKey("not-needed").maxRetries(0).build();
    }

    private static ChatCompletionCreateParams question(String text) {
        return ChatCompletionCreateParams.builder()
                .model(FunctionProcess.MODEL_ID)
                .addUserMessage(text)
                .maxCompletionTokens(32)
                .temperature(0.0)
                .build();
    }

    @Test
    void the_official_openai_sdk_gets_a_sensible_answer() {
        ChatCompletion completion = openAi().chat().completions().create(question(QUESTION));

        String answer = completion.choices().getFirst().message().content().orElseThrow();
        assertThat(answer).contains("Paris");
        assertThat(completion.choices().getFirst().finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(completion.usage().orElseThrow().completionTokens()).isPositive();
        assertThat(completion.model()).isEqualTo(FunctionProcess.MODEL_ID);
    }

    @Test
    void the_official_openai_sdk_streams_the_answer_in_chunks() {
        StringBuilder answer = new StringBuilder();
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream = openAi().chat().completions().createStreaming(question("What is 2+2?"))) {
            stream.stream().forEach(chunk -> {
                chunks.add(chunk);
                chunk.choices().forEach(choice -> choice.delta().content().ifPresent(answer::append));
            });
        }

        assertThat(answer.toString()).contains("4");
        assertThat(chunks).hasSizeGreaterThan(3);
        assertThat(chunks.getLast().choices().getFirst().finishReason()).isPresent();
    }

    @Test
    void langchain4j_chat_model_gets_a_sensible_answer() {
        ChatModel model = OpenAiChatModel.builder().baseUrl(function.baseUrl()).apiKey("not-needed")
                .modelName(FunctionProcess.MODEL_ID).temperature(0.0).maxTokens(32).maxRetries(0).build();

        assertThat(model.chat(QUESTION)).contains("Paris");
    }

    @Test
    void langchain4j_streaming_chat_model_streams_the_answer() throws Exception {
        StreamingChatModel model = OpenAiStreamingChatModel.builder().baseUrl(function.baseUrl()).apiKey("not-needed")
                .modelName(FunctionProcess.MODEL_ID).temperature(0.0).maxTokens(32).build();
        List<String> partials = new ArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();

        model.chat(QUESTION, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                partials.add(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse response = done.get(60, TimeUnit.SECONDS);

        assertThat(partials).hasSizeGreaterThan(1);
        assertThat(response.aiMessage().text()).isEqualTo(String.join("", partials)).contains("Paris");
    }

    /**
     * With llama.cpp b4916's prompt cache on, Gemma 3 intermittently (about one run in five under CPU load)
     * answers every question after the first with garbage, for good. The cache is off by default; this asks
     * questions that share a prefix, twice over, and checks each answer. It cannot prove the intermittent
     * failure absent, but it fails whenever it shows.
     */
    @Test
    void questions_sharing_a_prefix_are_answered_as_well_as_the_first_one() throws Exception {
        Map<String, String> expected = new java.util.LinkedHashMap<>();
        expected.put("What is the capital of France?", "Paris");
        expected.put("What is 2+2?", "4");
        expected.put("What is the capital of Italy?", "Rome");
        List<String> failures = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            for (Map.Entry<String, String> question : expected.entrySet()) {
                String body = """
                        {"model":"%s","messages":[{"role":"user","content":"%s"}],"max_tokens":24,"temperature":0}"""
                        .formatted(FunctionProcess.MODEL_ID, question.getKey());
                String answer = post("/v1/chat/completions", body).at("/choices/0/message/content").asText();
                if (!answer.contains(question.getValue())) {
                    failures.add("round %d, %s -> %s".formatted(round, question.getKey(), answer));
                }
            }
        }

        assertThat(failures).isEmpty();
    }

    @Test
    void structured_output_follows_the_json_schema() throws Exception {
        String body = """
                {"model":"%s","messages":[{"role":"user","content":"%s Answer in JSON."}],"max_tokens":48,"temperature":0,
                 "response_format":{"type":"json_schema","json_schema":{"name":"capital","strict":true,"schema":
                   {"type":"object","properties":{"city":{"type":"string"},"country":{"type":"string"}},
                    "required":["city","country"],"additionalProperties":false}}}}"""
                .formatted(FunctionProcess.MODEL_ID, QUESTION);

        JsonNode response = post("/v1/chat/completions", body);

        assertThat(response.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        JsonNode answer = new ObjectMapper().readTree(response.at("/choices/0/message/content").asText());
        assertThat(answer.get("city").isTextual()).isTrue();
        assertThat(answer.get("country").isTextual()).isTrue();
        assertThat(answer.size()).isEqualTo(2);
    }

    @Test
    void the_completions_endpoint_continues_a_prompt() throws Exception {
        String body = """
                {"model":"%s","prompt":"Question: What is the capital of France?\\nAnswer:","max_tokens":8,"temperature":0}"""
                .formatted(FunctionProcess.MODEL_ID);

        assertThat(post("/v1/completions", body).at("/choices/0/text").asText()).contains("Paris");
    }

    private static JsonNode post(String path, String body) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(function.uri(path))
                .header("Content-Type", "application/json").timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return new ObjectMapper().readTree(response.body());
    }
}
