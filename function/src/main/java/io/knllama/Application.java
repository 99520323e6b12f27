package io.knllama;

import io.knllama.inference.EarlyLoad;
import io.knllama.inference.LlamaEngine;
import io.knllama.lifecycle.Termination;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;

import java.time.Duration;
import java.util.List;

/** Starts the function. Configuration comes from environment variables; see README.md. */
public final class Application {

    private Application() {
    }

    public static void main(String[] args) {
        // The model's load is most of a cold start: it begins now, beside the application context's start.
        EarlyLoad.begin(System.getenv(), System.getProperties().stringPropertyNames(), List.of(args));
        ApplicationContext context = Micronaut.build(args).banner(false).start();
        Termination.install(context.getBean(LlamaEngine.class),
                context.getProperty("micronaut.lifecycle.graceful-shutdown.grace-period", Duration.class).orElse(Duration.ofSeconds(25)));
    }
}
