package io.knllama.model;

import io.knllama.gguf.GgufException;
import io.knllama.gguf.GgufFile;
import io.knllama.gguf.record.RecordKey;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A model file that passed the GGUF check, with the facts the engine needs before (and without)
 * asking llama.cpp: architecture, vocabulary size, tokenizer flags, chat template. The check is the full
 * one unless model-cache recorded that it ran it on this very file ({@link RecordedCheck}).
 */
public record ModelFile(
        Path path,
        long sizeBytes,
        String architecture,
        String name,
        long vocabularySize,
        long longestTokenBytes,
        boolean addsBos,
        int bosToken,
        Optional<String> chatTemplate) {

    /**
     * Reads and checks the file, trusting a check record signed with {@code KNLLAMA_MODEL_RECORD_KEY} from the
     * environment, if there is one.
     *
     * @throws ModelFileException with a message an operator can act on
     */
    public static ModelFile inspect(Path path) throws ModelFileException {
        return inspect(path, RecordedCheck.keyFrom(System::getenv));
    }

    /**
     * Reads and checks the file, trusting a check record signed with {@code recordKey}, if there is one.
     *
     * @throws ModelFileException with a message an operator can act on
     */
    public static ModelFile inspect(Path path, Optional<RecordKey> recordKey) throws ModelFileException {
        GgufFile gguf;
        try {
            gguf = RecordedCheck.read(path, recordKey);
        } catch (GgufException e) {
            throw new ModelFileException("%s is not a usable GGUF model: %s".formatted(path, e.getMessage()));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ModelFileException(("model file %s does not exist; set KNLLAMA_MODEL_PATH to a GGUF file "
                    + "(locally: ./scripts/fetch-model.sh prints one)").formatted(path));
        } catch (IOException e) {
            throw new ModelFileException("cannot read model file %s: %s".formatted(path, e));
        }
        String arch = gguf.architecture();
        String tokenizer = gguf.string("tokenizer.ggml.model").orElse("");
        long vocabulary = gguf.value("tokenizer.ggml.tokens").map(GgufFile.MetadataValue::length).orElse(0L);
        return new ModelFile(
                path,
                gguf.fileSize(),
                arch,
                gguf.string("general.name").orElse(arch),
                vocabulary,
                gguf.value("tokenizer.ggml.tokens").map(GgufFile.MetadataValue::longestElement).orElse(0L),
                // llama.cpp's default when the flag is absent: SentencePiece vocabularies add BOS, others do not
                gguf.bool("tokenizer.ggml.add_bos_token").orElse("llama".equals(tokenizer)),
                bosToken(gguf, tokenizer, vocabulary),
                gguf.string("tokenizer.chat_template").filter(t -> !t.isBlank()));
    }

    /**
     * The texts llama.cpp's tokenizer turns into control tokens wherever they appear in a prompt, from a file
     * {@link #inspect} accepted.
     *
     * @throws ModelFileException if the vocabulary's tables cannot be read
     */
    public static List<String> controlTokens(Path path) throws ModelFileException {
        try {
            return GgufFile.controlTokens(path);
        } catch (GgufException | IOException e) {
            throw new ModelFileException("cannot read the control tokens of %s: %s".formatted(path, e.getMessage()));
        }
    }

    /**
     * The BOS id as llama.cpp uses it: the file's, unless it is absent or outside the vocabulary, where llama.cpp
     * takes its default (1 for SentencePiece vocabularies, 11 for GPT-2 style ones).
     */
    private static int bosToken(GgufFile gguf, String tokenizer, long vocabulary) {
        long id = gguf.integer("tokenizer.ggml.bos_token_id").orElse(-1);
        return id >= 0 && id < vocabulary ? (int) id : "llama".equals(tokenizer) ? 1 : 11;
    }

    /** A model file that cannot be served; the message says what to do. */
    public static final class ModelFileException extends Exception {
        public ModelFileException(String message) {
            super(message);
        }
    }
}
