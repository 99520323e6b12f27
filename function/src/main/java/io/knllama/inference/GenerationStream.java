package io.knllama.inference;

import reactor.core.publisher.Flux;

/**
 * A generation that has been admitted to a slot and is running.
 *
 * @param events the generated text and the closing {@link GenerationEvent.Finished}; cancelling the
 *               subscription stops the generation and frees its slot. Subscribe once.
 */
public record GenerationStream(Flux<GenerationEvent> events) {
}
