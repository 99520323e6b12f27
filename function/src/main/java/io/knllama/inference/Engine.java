package io.knllama.inference;

import io.knllama.error.ApiException;
import reactor.core.publisher.Mono;

import java.util.List;
import java.util.Optional;

/**
 * What the APIs and the event processor ask of the model, whatever runs it. Every failure is an
 * {@link ApiException} carrying an {@link io.knllama.error.ApiError}.
 */
public interface Engine {

    /**
     * Starts a generation: renders and measures the prompt, then waits (bounded) for a slot. The result completes
     * once the generation holds a slot, so an API can still answer with an error status up to then: it fails if
     * the request is invalid, too long for the context, shed, or the engine is not serving. Cancelling it gives up
     * the place in the queue; cancelling the stream's subscription stops the generation at its next token. Nothing
     * happens until it is subscribed to.
     */
    Mono<GenerationStream> generate(GenerationRequest request);

    /** Embeds each input (last-token pooled), in one slot, in order. */
    Mono<Embeddings> embed(List<String> inputs);

    /**
     * Why a request arriving now would be refused at once (not serving, or every slot and queue place taken),
     * checked before any work is done for it. A caller with much work, such as a batch, uses it to decline the
     * whole of it up front.
     */
    Optional<ApiException> refusalNow();

    /** Whether the model is loaded and requests are taken. */
    boolean ready();

    /** Why the model could not be served, once that is known. */
    Optional<String> loadFailure();

    /** Generations that can run at once. */
    int slots();

    /** Facts about the served model, for listings. */
    ModelInfo info();
}
