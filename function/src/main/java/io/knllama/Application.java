package io.knllama;

import io.micronaut.runtime.Micronaut;

/** Starts the function. Configuration comes from environment variables; see README.md. */
public final class Application {

    private Application() {
    }

    public static void main(String[] args) {
        Micronaut.build(args).banner(false).start();
    }
}
