package io.knllama.openai;

import io.knllama.gguf.TinyModel;
import io.knllama.testing.TestServer;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class EmbeddingsTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of("knllama.model.embeddings", true));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static float[] vector(JsonNode item) {
        JsonNode values = item.get("embedding");
        float[] vector = new float[values.size()];
        for (int i = 0; i < vector.length; i++) {
            vector[i] = values.get(i).getNumberValue().floatValue();
        }
        return vector;
    }

    @Test
    void embeds_each_input_with_a_vector_as_wide_as_the_model() {
        JsonNode body = server.post("/v1/embeddings", "{\"model\":\"tiny\",\"input\":[\"hello world\",\"the blue sea\"]}").json();

        assertThat(body.get("object").getStringValue()).isEqualTo("list");
        assertThat(body.get("data").size()).isEqualTo(2);
        float[] first = vector(body.get("data").get(0));
        float[] second = vector(body.get("data").get(1));
        assertThat(first).hasSize(TinyModel.EMBEDDING);
        assertThat(body.get("data").get(1).get("index").getIntValue()).isEqualTo(1);
        // Pooled over the input: different texts must not share the first token's vector.
        assertThat(first).isNotEqualTo(second);
        assertThat(body.get("usage").get("prompt_tokens").getIntValue()).isGreaterThanOrEqualTo(4);
    }

    @Test
    void the_same_text_embeds_the_same_way() {
        String request = "{\"model\":\"tiny\",\"input\":\"a cat and a dog\"}";
        float[] once = vector(server.post("/v1/embeddings", request).json().get("data").get(0));
        float[] again = vector(server.post("/v1/embeddings", request).json().get("data").get(0));

        assertThat(again).containsExactly(once, within(1e-5f));
    }

    @Test
    void base64_encoding_carries_the_same_little_endian_floats() {
        String input = "\"model\":\"tiny\",\"input\":\"a cat and a dog\"";
        float[] floats = vector(server.post("/v1/embeddings", "{" + input + "}").json().get("data").get(0));
        String encoded = server.post("/v1/embeddings", "{" + input + ",\"encoding_format\":\"base64\"}").json()
                .get("data").get(0).get("embedding").getStringValue();

        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(encoded)).order(ByteOrder.LITTLE_ENDIAN);
        float[] decoded = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(decoded);
        assertThat(decoded).containsExactly(floats, within(1e-5f));
    }

    @Test
    void the_same_model_still_completes_chats() {
        var response = server.post("/v1/chat/completions",
                "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":3}");

        assertThat(response.status()).isEqualTo(200);
    }
}
