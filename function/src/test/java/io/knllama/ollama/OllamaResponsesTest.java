package io.knllama.ollama;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.inference.GenerationEvent;
import io.knllama.inference.GenerationStream;
import io.knllama.inference.ModelInfo;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class OllamaResponsesTest {

    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05.123Z"), ZoneOffset.UTC);

    private static ModelInfo info(String fileName) {
        return new ModelInfo("m", Instant.EPOCH, fileName, "gemma3", "Gemma", 42, 4096, 2, "transcript", false, Duration.ZERO);
    }

    @Test
    void an_error_after_the_stream_has_begun_is_its_last_line() {
        Flux<GenerationEvent> events = Flux.concat(Flux.just(new GenerationEvent.Token("he")),
                Flux.error(new ApiException(new ApiError.EngineFailure("java.lang.IllegalStateException: slot lost"))));

        List<Object> objects = OllamaResponses.chatStream("m", new GenerationStream(events), CLOCK, 0).collectList().block();

        assertThat(objects).hasSize(2);
        assertThat(objects.get(0)).isInstanceOf(ChatResponse.class);
        assertThat(((ChatResponse) objects.get(0)).createdAt()).isEqualTo("2026-01-02T03:04:05.123Z");
        assertThat(objects.get(1)).as("the stable message, not the cause").isEqualTo(
                new ErrorResponse("The server failed to process this request; the server's log has the details."));
    }

    @Test
    void the_done_object_carries_durations_in_nanoseconds_and_the_load_time_given() {
        var timings = new GenerationEvent.Timings(Duration.ofMillis(1), Duration.ofMillis(20), Duration.ofMillis(300),
                Duration.ofMillis(330));
        Flux<GenerationEvent> events = Flux.just(new GenerationEvent.Finished(GenerationEvent.FinishReason.LENGTH,
                new GenerationEvent.Usage(7, 9, 0), timings));

        GenerateResponse done = (GenerateResponse) OllamaResponses.generateStream("m", new GenerationStream(events), CLOCK,
                5_000_000L).blockLast();

        assertThat(done.done()).isTrue();
        assertThat(done.doneReason()).isEqualTo("length");
        assertThat(done.totalDuration()).isEqualTo(330_000_000L);
        assertThat(done.promptEvalDuration()).isEqualTo(20_000_000L);
        assertThat(done.evalDuration()).isEqualTo(300_000_000L);
        assertThat(done.loadDuration()).isEqualTo(5_000_000L);
        assertThat(done.promptEvalCount()).isEqualTo(7);
        assertThat(done.evalCount()).isEqualTo(9);
    }

    @Test
    void the_quantization_level_is_read_from_the_conventional_file_name_or_left_empty() {
        assertThat(OllamaResponses.details(info("gemma-3-270m-q4_k_m.gguf")).quantizationLevel()).isEqualTo("Q4_K_M");
        assertThat(OllamaResponses.details(info("Llama-3.2-1B-Instruct-Q8_0.gguf")).quantizationLevel()).isEqualTo("Q8_0");
        assertThat(OllamaResponses.details(info("phi-2.IQ3_XXS.gguf")).quantizationLevel()).isEqualTo("IQ3_XXS");
        assertThat(OllamaResponses.details(info("model-f16.gguf")).quantizationLevel()).isEqualTo("F16");
        assertThat(OllamaResponses.details(info("tiny.gguf")).quantizationLevel()).isEmpty();
    }

    @Test
    void embeddings_are_scaled_to_unit_length_and_a_zero_vector_stays_zero() {
        assertThat(OllamaResponses.normalized(new float[] {3, 4})).containsExactly(0.6f, 0.8f);
        assertThat(OllamaResponses.normalized(new float[] {0, 0})).containsExactly(0f, 0f);
    }

    @Test
    void the_model_is_named_with_or_without_latest_and_listed_with_it() {
        assertThat(OllamaRequests.names("gemma", "gemma")).isTrue();
        assertThat(OllamaRequests.names("gemma:latest", "gemma")).isTrue();
        assertThat(OllamaRequests.names("gemma:2b", "gemma")).isFalse();
        assertThat(OllamaRequests.listedName("gemma")).isEqualTo("gemma:latest");
        assertThat(OllamaRequests.listedName("gemma:2b")).isEqualTo("gemma:2b");
        assertThat(OllamaRequests.names("gemma:2b", "gemma:2b")).isTrue();
    }
}
