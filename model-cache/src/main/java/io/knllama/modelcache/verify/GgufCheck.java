package io.knllama.modelcache.verify;

import io.knllama.gguf.GgufException;
import io.knllama.gguf.GgufFile;
import io.knllama.modelcache.failure.IntegrityException;
import io.knllama.modelcache.failure.StorageException;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The structural check, the same {@link GgufFile#read} the function runs before it hands the file to
 * llama.cpp: a model that passes here loads there (as far as its structure goes).
 */
public final class GgufCheck {

    private GgufCheck() {
    }

    /**
     * @param what how to name the file in a message, e.g. "the file downloaded from hf://…"
     * @throws IntegrityException if it is not a well-formed GGUF model llama.cpp can open safely
     */
    public static GgufFile check(Path file, String what) throws IntegrityException, StorageException {
        try {
            return GgufFile.read(file);
        } catch (GgufException e) {
            throw new IntegrityException(("%s is not a usable GGUF model: %s. Check that the source names a "
                    + "complete .gguf file (not an HTML page, a safetensors file, or one shard of a split model) "
                    + "in a format llama.cpp b4916 supports.").formatted(what, e.getMessage()), e);
        } catch (IOException e) {
            throw new StorageException("cannot read %s on the volume: %s".formatted(what, e), e);
        }
    }
}
