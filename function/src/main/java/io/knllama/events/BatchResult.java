package io.knllama.events;

import io.knllama.error.ApiError;
import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

import java.util.List;

/**
 * What a batch produced, in the spirit of OpenAI's batch output lines: per {@code custom_id}, either a
 * response (the status and the body the HTTP API would have returned) or an error. Every item of an
 * accepted batch appears exactly once.
 */
@Serdeable(naming = SnakeCaseStrategy.class)
record BatchResult(String batchId, String model, Counts counts, List<Item> results) {

    @Serdeable(naming = SnakeCaseStrategy.class)
    record Counts(int total, int completed, int failed) {
    }

    @Serdeable(naming = SnakeCaseStrategy.class)
    record Item(String customId, Response response, Error error) {

        static Item ok(String customId, Object body) {
            return new Item(customId, new Response(200, body), null);
        }

        static Item failed(String customId, ApiError error) {
            return new Item(customId, null, new Error(error.status(), error.code(), error.message(), error.param()));
        }

        boolean succeeded() {
            return error == null;
        }
    }

    @Serdeable(naming = SnakeCaseStrategy.class)
    record Response(int statusCode, Object body) {
    }

    @Serdeable(naming = SnakeCaseStrategy.class)
    record Error(int statusCode, String code, String message, String param) {
    }
}
