package io.knllama.model;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Pattern;

import java.nio.file.Path;

/**
 * The model to serve ({@code KNLLAMA_MODEL_*} environment variables).
 *
 * @param path         GGUF file to load ({@code KNLLAMA_MODEL_PATH})
 * @param id           model id clients send and {@code /v1/models} lists; defaults to the file name without {@code .gguf}
 * @param contextSize  context window of each slot, in tokens (prompt plus completion)
 * @param gpuLayers    layers to offload to a GPU (CUDA build only); 0 keeps everything on the CPU
 * @param embeddings   whether {@code /v1/embeddings} is served (the last token's hidden state, as decoder-only embedding models pool)
 * @param chatTemplate how chat messages become a prompt: unset uses the model's own template, or, for a model
 *                     without one (a base model), a plain "User:/Assistant:" transcript; a llama.cpp built-in
 *                     template name ({@code chatml}, {@code gemma}, {@code llama3}, ...) or {@code transcript}
 *                     overrides that
 * @param promptCache  reuse a slot's KV cache for the start of a prompt it holds already (the previous turn of a
 *                     conversation, a shared system prompt), so only the new part is processed. With it, greedy
 *                     output can differ from a run without it where two tokens are all but tied: llama.cpp's
 *                     arithmetic differs in the last bits between batch shapes (README, Known limits)
 * @param mmap         map the file instead of reading it: faster start, weights shared through the page cache
 */
@ConfigurationProperties(ModelProperties.PREFIX)
public record ModelProperties(
        @NotBlank String path,
        @Nullable @Pattern(regexp = "[A-Za-z0-9._:/@+-]{1,128}") String id,
        @Bindable(defaultValue = "4096") @Min(64) @Max(1 << 20) int contextSize,
        @Bindable(defaultValue = "0") @Min(0) @Max(10_000) int gpuLayers,
        @Bindable(defaultValue = "false") boolean embeddings,
        @Nullable @Pattern(regexp = "[a-z0-9._-]{1,32}", message = "must be a llama.cpp built-in template name or 'transcript'")
        String chatTemplate,
        @Bindable(defaultValue = "true") boolean promptCache,
        @Bindable(defaultValue = "true") boolean mmap) {

    public static final String PREFIX = "knllama.model";

    public Path file() {
        return Path.of(path);
    }

    public String effectiveId() {
        if (id != null) {
            return id;
        }
        String name = file().getFileName().toString();
        return name.endsWith(".gguf") ? name.substring(0, name.length() - 5) : name;
    }
}
