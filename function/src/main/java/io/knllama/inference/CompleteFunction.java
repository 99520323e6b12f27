package io.knllama.inference;

import io.micronaut.function.FunctionBean;
import reactor.core.publisher.Mono;

import java.util.function.Function;

/**
 * Prompt in, completion out: the generation every non-streaming entry point shares (HTTP APIs that
 * answer at once, CloudEvents). Errors are {@code ApiException}s, as {@link Engine#generate} raises them.
 */
@FunctionBean("complete")
public final class CompleteFunction implements Function<GenerationRequest, Mono<Completion>> {

    private final Engine engine;

    CompleteFunction(Engine engine) {
        this.engine = engine;
    }

    @Override
    public Mono<Completion> apply(GenerationRequest request) {
        return engine.generate(request).flatMap(stream -> stream.events()
                .collect(Collected::new, Collected::add)
                .map(Collected::completion));
    }

    private static final class Collected {
        private final StringBuilder text = new StringBuilder();
        private GenerationEvent.Finished finished;

        void add(GenerationEvent event) {
            switch (event) {
                case GenerationEvent.Token token -> text.append(token.text());
                case GenerationEvent.Finished done -> finished = done;
            }
        }

        Completion completion() {
            return new Completion(text.toString(), finished.reason(), finished.usage(), finished.timings());
        }
    }
}
