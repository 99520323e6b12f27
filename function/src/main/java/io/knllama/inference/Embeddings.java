package io.knllama.inference;

import java.util.List;

/**
 * Vectors in input order, and the prompt tokens they took.
 *
 * @param vectors one per input, each as long as the model is wide
 */
public record Embeddings(List<float[]> vectors, int promptTokens) {

    public Embeddings {
        vectors = List.copyOf(vectors);
    }
}
