package io.knllama.grammar;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.gguf.TinyModel;
import io.knllama.inference.CompleteFunction;
import io.knllama.inference.Completion;
import io.knllama.inference.GenerationEvent.FinishReason;
import io.knllama.inference.GenerationRequest;
import io.knllama.inference.GenerationRequest.ChatMessage;
import io.knllama.inference.GenerationRequest.ChatMessage.Role;
import io.knllama.inference.GenerationRequest.Prompt;
import io.knllama.inference.GenerationRequest.ResponseFormat;
import io.knllama.inference.GenerationRequest.Sampling;
import io.knllama.inference.LlamaEngine;
import io.micronaut.context.ApplicationContext;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Feeds arbitrary schemas through the whole structured-output path: JSON text, the converter, llama.cpp's
 * grammar parser and a short generation on a tiny model, in this fork of the build (a native abort ends the
 * fork, which fails the build and leaves the input behind as a crash file). A schema may only be refused with
 * a 400; an answer that leaves its grammar's language (b4916 generates unconstrained when it cannot parse a
 * grammar), a grammar this test's strict parser refuses, or a complete answer that is not valid against the
 * schema is a finding.
 *
 * <p>{@code ./mvnw verify} fuzzes briefly in its own surefire execution ({@code schema-fuzz}, seeded with
 * real Pydantic, Zod and OpenAI schemas); {@code scripts/fuzz-schema.sh} fuzzes for a set time.
 */
class SchemaFuzzTest {

    private static final JsonMapper JSON = JsonMapper.createDefault();
    private static final ObjectMapper JACKSON = new ObjectMapper();
    private static final JsonSchemaFactory VALIDATORS = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final ApplicationContext CONTEXT = start();
    private static final CompleteFunction COMPLETE = CONTEXT.getBean(CompleteFunction.class);
    /**
     * Byte tokens above 0x7F are discouraged (not banned: a grammar that needs one still gets it). With random
     * weights the model strings them into byte sequences no trained model writes, overlong encodings among them,
     * which llama.cpp's grammar decodes leniently (an overlong '"' ends a string there) and a strict UTF-8 decoder
     * does not: the answer would differ from what the grammar saw for a reason outside this converter.
     */
    private static final Map<Integer, Float> NO_LONE_BYTES = IntStream.rangeClosed(0x80, 0xFF).boxed()
            .collect(Collectors.toMap(b -> TinyModel.tokenId("<0x%02X>".formatted(b)), b -> -100f));
    /** Inputs by how far they got: scripts/fuzz-schema.sh reports these beside libFuzzer's totals. */
    private static final AtomicLongArray REACHED = new AtomicLongArray(3);

    @AfterAll
    static void report() {
        System.out.printf("schema fuzz: %d JSON inputs, %d refused with a 400, %d generated under their grammar%n",
                REACHED.get(0), REACHED.get(1), REACHED.get(2));
        CONTEXT.close();
    }

    static Stream<Arguments> any_schema_is_answered_or_refused_with_a_400_and_never_breaks_the_engine() {
        return JsonSchemaGrammarTest.REAL_WORLD_SCHEMAS.stream()
                .map(name -> Arguments.of((Object) JsonSchemaGrammarTest.realWorld(name).getBytes(StandardCharsets.UTF_8)));
    }

    @MethodSource // before @FuzzTest: Jazzer requires its annotation to come last
    @FuzzTest(maxDuration = "20s")
    void any_schema_is_answered_or_refused_with_a_400_and_never_breaks_the_engine(byte[] input) throws IOException {
        JsonNode schema;
        try {
            schema = JSON.readValue(input, JsonNode.class);
        } catch (IOException | RuntimeException notJson) {
            return;
        }
        if (schema == null) {
            return;
        }
        REACHED.incrementAndGet(0);
        String grammar;
        try {
            grammar = JsonSchemaGrammar.of(schema, "schema");
        } catch (ApiException refused) {
            assertThat(refused.error()).isInstanceOfAny(ApiError.InvalidRequest.class, ApiError.Unsupported.class);
            assertThat(refused.error().status()).isEqualTo(400);
            assertThat(refused.getMessage().length()).isLessThan(400);
            REACHED.incrementAndGet(1);
            return;
        }
        GbnfMatcher matcher = GbnfMatcher.parse(grammar);
        REACHED.incrementAndGet(2);
        Completion answer = COMPLETE.apply(new GenerationRequest(
                new Prompt.Chat(List.of(new ChatMessage(Role.USER, "json please"))),
                new Sampling(1.5f, null, null, null, (long) Arrays.hashCode(input), null, null, null, List.of(), NO_LONE_BYTES),
                32, new ResponseFormat.Json(grammar))).block(Duration.ofSeconds(60));
        // b4916 generates without a grammar it cannot parse (and says so only on stderr): an answer that leaves
        // the grammar's language shows that.
        assertThat(matcher.matchesPrefix(answer.text())).as("answer %s", answer.text()).isTrue();
        if (answer.finishReason() == FinishReason.STOP) {
            assertThat(matcher.matches(answer.text())).as("complete answer %s", answer.text()).isTrue();
            com.networknt.schema.JsonSchema validator;
            try {
                validator = VALIDATORS.getSchema(JACKSON.readTree(input));
            } catch (RuntimeException notUnderstoodByTheValidator) {
                return;
            }
            assertThat(validator.validate(JACKSON.readTree(answer.text()))).as("answer %s", answer.text()).isEmpty();
        }
    }

    /** The engine on a tiny model. */
    private static ApplicationContext start() {
        try {
            Path directory = Files.createTempDirectory("knllama-schema-fuzz");
            Path model = TinyModel.builder().build().write(directory.resolve("tiny.gguf"));
            ApplicationContext context = ApplicationContext.run(Map.of(
                    "knllama.model.path", model.toString(),
                    "knllama.model.id", "tiny",
                    "knllama.model.context-size", 256,
                    "knllama.engine.slots", 1,
                    "knllama.engine.threads", 1));
            LlamaEngine engine = context.getBean(LlamaEngine.class);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!engine.ready() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            return context;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
