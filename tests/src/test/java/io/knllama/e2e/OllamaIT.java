package io.knllama.e2e;

import io.github.ollama4j.Ollama;
import io.github.ollama4j.exceptions.OllamaException;
import io.github.ollama4j.models.chat.OllamaChatMessageRole;
import io.github.ollama4j.models.chat.OllamaChatRequest;
import io.github.ollama4j.models.chat.OllamaChatResponseModel;
import io.github.ollama4j.models.chat.OllamaChatResult;
import io.github.ollama4j.models.embed.OllamaEmbedRequest;
import io.github.ollama4j.models.embed.OllamaEmbedResult;
import io.github.ollama4j.models.generate.OllamaGenerateRequest;
import io.github.ollama4j.models.generate.OllamaGenerateStreamObserver;
import io.github.ollama4j.models.ps.ModelProcessesResult;
import io.github.ollama4j.models.request.ThinkMode;
import io.github.ollama4j.models.response.Model;
import io.github.ollama4j.models.response.ModelDetail;
import io.github.ollama4j.models.response.OllamaResult;
import io.github.ollama4j.utils.OptionsBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The real Gemma 3 270M model behind the function's Ollama API, driven by ollama4j, the Java Ollama client. */
class OllamaIT {

    private static final String QUESTION = "What is the capital of France?";
    private static final String NAME = FunctionProcess.MODEL_ID + ":latest";
    private static FunctionProcess function;
    private static Ollama ollama;

    @BeforeAll
    static void start() {
        function = FunctionProcess.start("ollama", Map.of("KNLLAMA_ENGINE_SLOTS", "2", "KNLLAMA_MODEL_EMBEDDINGS", "true"));
        String host = function.uri("").toString();
        ollama = new Ollama(host.endsWith("/") ? host.substring(0, host.length() - 1) : host);
        ollama.setRequestTimeoutSeconds(120);
    }

    @AfterAll
    static void stop() {
        function.close();
    }

    private static OllamaChatRequest question(String text) {
        return OllamaChatRequest.builder().withModel(NAME)
                .withMessage(OllamaChatMessageRole.USER, text)
                .withOptions(new OptionsBuilder().setTemperature(0f).setNumPredict(32).build())
                .build();
    }

    @Test
    void ollama4j_finds_the_server_and_the_model_as_it_would_on_ollama() throws Exception {
        assertThat(ollama.ping()).isTrue();
        assertThat(ollama.getVersion()).matches("\\d+\\.\\d+\\.\\d+");

        List<Model> models = ollama.listModels();
        assertThat(models).hasSize(1);
        assertThat(models.getFirst().getName()).isEqualTo(NAME);
        assertThat(models.getFirst().getModelMeta().getQuantizationLevel()).isEqualTo("Q4_K_M");
        assertThat(models.getFirst().getModifiedAt()).isNotNull();

        ModelDetail detail = ollama.getModelDetails(FunctionProcess.MODEL_ID);
        assertThat(detail.getDetails().getFamily()).isEqualTo("gemma3");
        assertThat(detail.getCapabilities()).contains("completion");

        ModelProcessesResult ps = ollama.ps();
        assertThat(ps.getModels().getFirst().getName()).isEqualTo(NAME);
    }

    @Test
    void ollama4j_chat_gets_a_sensible_answer_with_ollamas_timings() throws Exception {
        OllamaChatResult result = ollama.chat(question(QUESTION), null);

        OllamaChatResponseModel response = result.getResponseModel();
        assertThat(response.getMessage().getResponse()).contains("Paris");
        assertThat(response.isDone()).isTrue();
        assertThat(response.getDoneReason()).isEqualTo("stop");
        assertThat(response.getEvalCount()).isPositive();
        assertThat(response.getPromptEvalCount()).isPositive();
        assertThat(response.getEvalDuration()).as("nanoseconds").isGreaterThan(1_000_000L);
        assertThat(response.getTotalDuration()).isGreaterThan(response.getEvalDuration());
    }

    @Test
    void ollama4j_chat_streams_the_answer_piece_by_piece() throws Exception {
        List<String> pieces = new ArrayList<>();
        List<OllamaChatResponseModel> finals = new ArrayList<>();

        OllamaChatResult result = ollama.chat(question(QUESTION), part -> {
            if (part.isDone()) {
                finals.add(part);
            } else {
                pieces.add(part.getMessage().getResponse());
            }
        });

        assertThat(pieces).hasSizeGreaterThan(2);
        assertThat(String.join("", pieces)).contains("Paris");
        assertThat(result.getResponseModel().getMessage().getResponse()).isEqualTo(String.join("", pieces));
        assertThat(finals).singleElement().satisfies(done -> {
            assertThat(done.getDoneReason()).isEqualTo("stop");
            assertThat(done.getEvalCount()).isPositive();
        });
    }

    @Test
    void ollama4j_generate_answers_streamed_and_not() throws Exception {
        // ollama4j's streamed generate needs the think mode set (it fails with a NullPointerException otherwise).
        OllamaGenerateRequest request = OllamaGenerateRequest.builder().withModel(NAME).withPrompt("What is 2+2?")
                .withThink(ThinkMode.DISABLED)
                .withOptions(new OptionsBuilder().setTemperature(0f).setNumPredict(24).build()).build();
        List<String> pieces = new ArrayList<>();

        OllamaResult whole = ollama.generate(request, null);
        OllamaResult streamed = ollama.generate(request, new OllamaGenerateStreamObserver(null, pieces::add));

        assertThat(whole.getResponse()).contains("4");
        assertThat(whole.getDoneReason()).isEqualTo("stop");
        assertThat(streamed.getResponse()).isEqualTo(whole.getResponse());
        assertThat(pieces).hasSizeGreaterThan(1);
        assertThat(String.join("", pieces)).isEqualTo(streamed.getResponse());
    }

    @Test
    void ollama4j_embeds_texts_as_unit_vectors() throws Exception {
        OllamaEmbedResult result = ollama.embed(new OllamaEmbedRequest(NAME, List.of("a llama", "an alpaca")));

        assertThat(result.getEmbeddings()).hasSize(2);
        List<Double> vector = result.getEmbeddings().getFirst();
        assertThat(vector).hasSize(640);
        assertThat(vector.stream().mapToDouble(v -> v * v).sum()).isBetween(0.999, 1.001);
    }

    @Test
    void ollama4j_reports_an_unknown_model_with_the_servers_message() {
        assertThatThrownBy(() -> ollama.chat(OllamaChatRequest.builder().withModel("llama3:8b")
                .withMessage(OllamaChatMessageRole.USER, "hi").build(), null))
                .isInstanceOf(OllamaException.class)
                .hasMessageContaining("llama3:8b");
    }
}
