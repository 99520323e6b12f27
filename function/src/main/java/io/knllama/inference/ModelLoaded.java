package io.knllama.inference;

/**
 * Published once, when the model is loaded and the function can answer: the moment work that must stay off the
 * cold path (the Kubernetes API, for instance) may begin.
 */
public record ModelLoaded() {
}
