package io.knllama.events;

/** The CloudEvents types the function consumes and produces. */
final class EventTypes {

    /** In: one chat request (OpenAI's chat completion request shape; {@code model} optional). */
    static final String PROMPT = "io.knllama.prompt.v1";
    /** Out: the answer to a prompt (OpenAI's chat completion shape). */
    static final String COMPLETION = "io.knllama.completion.v1";
    /** In: a batch of requests, each with a {@code custom_id}. */
    static final String BATCH = "io.knllama.batch.v1";
    /** Out: every item's result or error, in the batch's order. */
    static final String BATCH_RESULT = "io.knllama.batch.result.v1";
    /** Out, to {@code K_SINK}: one item's result, as soon as it is ready. */
    static final String BATCH_ITEM = "io.knllama.batch.item.v1";

    private EventTypes() {
    }
}
