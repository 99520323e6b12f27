package io.knllama.gguf;

/**
 * A file that is not a GGUF model llama.cpp can safely open. The message names what is wrong and,
 * where it helps, the byte offset, so an operator can tell a truncated download from a wrong file.
 */
public final class GgufException extends Exception {

    public GgufException(String message) {
        super(message);
    }
}
