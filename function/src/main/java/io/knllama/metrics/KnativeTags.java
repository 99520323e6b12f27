package io.knllama.metrics;

import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tags every meter with the Knative service, revision and pod it comes from (Knative sets
 * {@code K_SERVICE}, {@code K_REVISION}, {@code K_CONFIGURATION}; the manifests add {@code POD_NAME}),
 * so dashboards can compare revisions during a traffic split.
 */
@Factory
final class KnativeTags {

    private static final Map<String, String> TAGS = Map.of(
            "K_SERVICE", "service", "K_REVISION", "revision", "K_CONFIGURATION", "configuration", "POD_NAME", "pod");

    @Singleton
    MeterFilter knativeTags() {
        List<Tag> tags = new ArrayList<>();
        TAGS.forEach((variable, tag) -> {
            String value = System.getenv(variable);
            if (value != null && !value.isBlank()) {
                tags.add(Tag.of(tag, value));
            }
        });
        return MeterFilter.commonTags(tags);
    }
}
