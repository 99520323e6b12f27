package io.knllama.auth;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;

/**
 * On an instance that serves events only ({@code KNLLAMA_API_ROUTES=events}), answers 404 to everything but
 * events, health and metrics. Such an instance takes events without a key, because Knative Eventing's Triggers
 * cannot present one; serving nothing else there keeps it from being a way around the key that guards the APIs
 * on the public Service.
 */
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
@Requires(property = ApiProperties.PREFIX + ".routes", value = "events")
final class EventsOnlyFilter {

    @RequestFilter
    void eventsOnly(HttpRequest<?> request) {
        String path = request.getPath();
        boolean event = request.getMethod() == HttpMethod.POST
                && (path.equals("/") || path.equals("/events") || path.startsWith("/events/"));
        boolean platform = path.startsWith("/health") || path.equals("/metrics");
        if (!event && !platform) {
            throw new ApiException(new ApiError.NotFound(
                    "This instance serves events only (KNLLAMA_API_ROUTES=events): POST them to / or /events. "
                            + "The OpenAI and Ollama APIs are on the public Service."));
        }
    }
}
