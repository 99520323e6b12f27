package io.knllama.ollama;

import io.micronaut.serde.annotation.Serdeable;
import io.micronaut.serde.config.naming.SnakeCaseStrategy;

import java.util.List;
import java.util.Map;

/**
 * What {@code /api/tags}, {@code /api/ps} and {@code /api/show} say about the served model. Field sets are
 * Ollama's exactly: ollama4j, for one, fails on a field it does not know in {@code /api/tags} and in the
 * {@code details} of {@code /api/ps}.
 */
public final class ModelListing {

    private ModelListing() {
    }

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Details(String parentModel, String format, String family, List<String> families, String parameterSize,
                          String quantizationLevel) {
    }

    /** {@code GET /api/tags}. */
    @Serdeable
    public record Tags(List<Tag> models) {
    }

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Tag(String name, String model, String modifiedAt, long size, String digest, Details details) {
    }

    /** {@code GET /api/ps}. */
    @Serdeable
    public record Running(List<RunningModel> models) {
    }

    @Serdeable(naming = SnakeCaseStrategy.class)
    public record RunningModel(String name, String model, long size, String digest, Details details, String expiresAt,
                               long sizeVram, int contextLength) {
    }

    /** {@code POST /api/show}. */
    @Serdeable(naming = SnakeCaseStrategy.class)
    public record Show(String modelfile, String parameters, String template, Details details, Map<String, Object> modelInfo,
                       List<String> capabilities, String modifiedAt) {
    }

    /** {@code GET /api/version}. */
    @Serdeable
    public record Version(String version) {
    }
}
