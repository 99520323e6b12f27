package io.knllama.events;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * How one batch item's outcome is settled: whatever happens to it, it is that item's result, never the delivery's
 * failure, except that this instance is shutting down.
 */
class BatchItemTest {

    private static BatchResult.Item settle(Mono<?> work) {
        return EventProcessor.settled("item-1", work, Duration.ofSeconds(240)).block();
    }

    @Test
    void a_completed_item_is_a_200_response_with_its_body() {
        BatchResult.Item item = settle(Mono.just("body"));

        assertThat(item.succeeded()).isTrue();
        assertThat(item.response().statusCode()).isEqualTo(200);
        assertThat(item.response().body()).isEqualTo("body");
    }

    @Test
    void an_invalid_item_is_its_own_error_with_the_param_at_fault() {
        BatchResult.Item item = settle(Mono.error(new ApiException(new ApiError.InvalidRequest("seed", "out of range"))));

        assertThat(item.error()).isEqualTo(new BatchResult.Error(400, "invalid_value", "out of range", "seed"));
    }

    @Test
    void an_item_past_the_batch_time_limit_is_reported_as_timed_out() {
        BatchResult.Item item = settle(Mono.error(new TimeoutException()));

        assertThat(item.error().statusCode()).isEqualTo(504);
        assertThat(item.error().code()).isEqualTo("timeout");
        assertThat(item.error().message()).contains("240 s");
    }

    @Test
    void an_unexpected_exception_inside_an_item_is_that_items_error_not_the_deliverys() {
        BatchResult.Item item = settle(Mono.error(new ArithmeticException("BigInteger out of long range")));

        assertThat(item.customId()).isEqualTo("item-1");
        assertThat(item.error().statusCode()).isEqualTo(500);
        assertThat(item.error().code()).isEqualTo("engine_error");
        assertThat(item.error().message()).doesNotContain("Arithmetic").doesNotContain("java.");
    }

    @Test
    void an_overloaded_item_is_that_items_error() {
        BatchResult.Item item = settle(Mono.error(new ApiException(new ApiError.Overloaded("busy", Duration.ofSeconds(2)))));

        assertThat(item.error().statusCode()).isEqualTo(503);
        assertThat(item.error().code()).isEqualTo("overloaded");
    }

    @Test
    void shutting_down_fails_the_whole_delivery_so_another_instance_runs_the_batch() {
        ApiException shuttingDown = new ApiException(new ApiError.Unavailable("going away", Duration.ofSeconds(1),
                ApiError.Unavailable.Reason.SHUTTING_DOWN));

        Throwable failure = catchThrowable(() -> settle(Mono.error(shuttingDown)));

        assertThat(failure).isSameAs(shuttingDown);
    }
}
