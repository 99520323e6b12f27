package io.knllama.request;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;

import java.util.List;

/** Texts to embed, as both APIs take them in {@code input}: one string or an array of strings. */
public final class EmbeddingInput {

    /** Texts one request may embed. */
    public static final int MAX_INPUTS = 256;

    private EmbeddingInput() {
    }

    /**
     * The texts in {@code input}: present, at least {@code min} and at most {@value #MAX_INPUTS} of them, none
     * empty. Token arrays (numbers, or arrays of numbers) are refused: this server embeds text.
     */
    public static List<String> read(RequestFields body, int min) {
        if (!body.present("input")) {
            throw RequestFields.invalid("input", "Missing required parameter: 'input'.", "missing_required_parameter");
        }
        if (body.raw("input").isArray()) {
            for (RequestFields.Element element : body.array("input").orElseThrow()) {
                if (element.value().isNumber() || element.value().isArray()) {
                    throw new ApiException(new ApiError.Unsupported(element.path(), "Token arrays are not supported as input; send text."));
                }
            }
        }
        List<String> inputs = body.strings("input");
        if (inputs.size() < min || inputs.size() > MAX_INPUTS) {
            throw RequestFields.invalid("input", "'input' must hold between %d and %d texts.".formatted(min, MAX_INPUTS),
                    "invalid_value");
        }
        body.noEmptyTexts("input", inputs);
        return inputs;
    }
}
