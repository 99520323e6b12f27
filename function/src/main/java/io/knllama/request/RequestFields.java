package io.knllama.request;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.error.Echo;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Typed, checked access to one JSON object of a request, shared by every API that parses its bodies strictly. Every failure names the parameter by its
 * path in the body ({@code messages[2].content}) and says what was expected, the way OpenAI does.
 * Explicit {@code null} counts as absent, as it does for OpenAI's optional parameters.
 */
public final class RequestFields {

    static final int MAX_STOP = 16;
    static final int MAX_STOP_LENGTH = 256;

    private final JsonNode node;
    private final String path;

    private RequestFields(JsonNode node, String path) {
        this.node = node;
        this.path = path;
    }

    /** Parses a request body; an empty or malformed one is a 400 {@code invalid_json} quoting the parser's first line. */
    public static JsonNode parse(JsonMapper json, byte[] body) {
        if (body == null || body.length == 0) {
            throw invalid(null, "The request body is empty; send a JSON object.", "invalid_json");
        }
        try {
            return json.readValue(body, JsonNode.class);
        } catch (IOException e) {
            String message = e.getMessage() == null ? "unreadable" : e.getMessage().lines().findFirst().orElse("unreadable");
            throw invalid(null, "The request body is not valid JSON: "
                    + (message.length() > 200 ? message.substring(0, 200) + "…" : message), "invalid_json");
        }
    }

    public static RequestFields body(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw invalid(null, "The request body must be a JSON object.", "invalid_type");
        }
        return new RequestFields(body, "");
    }

    /** Rejects any parameter not in {@code known}, as OpenAI does ("Unrecognized request argument"). */
    public RequestFields allowOnly(Set<String> known) {
        for (Map.Entry<String, JsonNode> entry : node.entries()) {
            if (!known.contains(entry.getKey())) {
                throw invalid(at(entry.getKey()), "Unrecognized request argument supplied: " + at(entry.getKey()) + ".",
                        "unknown_parameter");
            }
        }
        return this;
    }

    /** Rejects a parameter this server does not implement, unless it has its default, harmless value. */
    public void unsupported(String name, String why) {
        if (present(name)) {
            throw new ApiException(new ApiError.Unsupported(at(name), why));
        }
    }

    public boolean present(String name) {
        JsonNode value = node.get(name);
        return value != null && !value.isNull();
    }

    public JsonNode raw(String name) {
        return present(name) ? node.get(name) : null;
    }

    public String path(String name) {
        return at(name);
    }

    public String requiredString(String name) {
        return string(name).orElseThrow(() -> invalid(at(name), "Missing required parameter: '" + at(name) + "'.",
                "missing_required_parameter"));
    }

    public Optional<String> string(String name) {
        if (!present(name)) {
            return Optional.empty();
        }
        JsonNode value = node.get(name);
        if (!value.isString()) {
            throw typeError(name, "a string", value);
        }
        return Optional.of(value.getStringValue());
    }

    public Optional<Boolean> bool(String name) {
        if (!present(name)) {
            return Optional.empty();
        }
        JsonNode value = node.get(name);
        if (!value.isBoolean()) {
            throw typeError(name, "a boolean", value);
        }
        return Optional.of(value.getBooleanValue());
    }

    /** A number within {@code [min, max]}. */
    public Optional<Double> number(String name, double min, double max) {
        if (!present(name)) {
            return Optional.empty();
        }
        JsonNode value = node.get(name);
        if (!value.isNumber()) {
            throw typeError(name, "a number", value);
        }
        double number = value.getNumberValue().doubleValue();
        if (!(number >= min && number <= max)) {
            throw invalid(at(name), "Invalid '%s': %s is not between %s and %s.".formatted(at(name), Echo.of(value.getNumberValue().toString()),
                    format(min), format(max)), "invalid_value");
        }
        return Optional.of(number);
    }

    public Optional<Float> floatNumber(String name, double min, double max) {
        return number(name, min, max).map(Double::floatValue);
    }

    /**
     * A whole number within {@code [min, max]}; {@code 3.0} counts, {@code 3.5} does not. Compared exactly, not
     * as a double: {@code 9223372036854775808} is out of a long's range although it rounds to one.
     */
    public Optional<Long> integer(String name, long min, long max) {
        if (!present(name)) {
            return Optional.empty();
        }
        JsonNode value = node.get(name);
        if (!value.isNumber()) {
            throw typeError(name, "an integer", value);
        }
        BigDecimal exact = exact(value.getNumberValue());
        if (exact == null || exact.signum() != 0 && exact.stripTrailingZeros().scale() > 0) {
            throw typeError(name, "an integer", value);
        }
        if (exact.compareTo(BigDecimal.valueOf(min)) < 0 || exact.compareTo(BigDecimal.valueOf(max)) > 0) {
            throw invalid(at(name), "Invalid '%s': %s is not between %d and %d.".formatted(at(name),
                    Echo.of(value.getNumberValue().toString()), min, max), "invalid_value");
        }
        return Optional.of(exact.longValueExact());
    }

    /** The number's exact value; {@code null} for infinities and NaN, which JSON parsers may produce for huge exponents. */
    private static BigDecimal exact(Number number) {
        return switch (number) {
            case BigDecimal big -> big;
            case BigInteger big -> new BigDecimal(big);
            case Long whole -> BigDecimal.valueOf(whole);
            case Integer whole -> BigDecimal.valueOf(whole);
            case Short whole -> BigDecimal.valueOf(whole);
            case Byte whole -> BigDecimal.valueOf(whole);
            default -> Double.isFinite(number.doubleValue()) ? new BigDecimal(number.doubleValue()) : null;
        };
    }

    public Optional<RequestFields> object(String name) {
        if (!present(name)) {
            return Optional.empty();
        }
        JsonNode value = node.get(name);
        if (!value.isObject()) {
            throw typeError(name, "an object", value);
        }
        return Optional.of(new RequestFields(value, at(name)));
    }

    /** The elements of an array parameter, with their paths. */
    public Optional<List<Element>> array(String name) {
        if (!present(name)) {
            return Optional.empty();
        }
        JsonNode value = node.get(name);
        if (!value.isArray()) {
            throw typeError(name, "an array", value);
        }
        List<Element> elements = new ArrayList<>(value.size());
        int i = 0;
        for (JsonNode element : value.values()) {
            elements.add(new Element(element, at(name) + "[" + i++ + "]"));
        }
        return Optional.of(elements);
    }

    /**
     * Stop sequences, as OpenAI and Ollama take them: one string or an array of strings, each 1 to
     * {@value #MAX_STOP_LENGTH} characters, at most {@value #MAX_STOP} of them; none when absent.
     */
    public List<String> stopSequences(String name) {
        List<String> sequences = strings(name);
        if (sequences.size() > MAX_STOP) {
            throw invalid(at(name), "'%s' may hold at most %d sequences.".formatted(at(name), MAX_STOP), "invalid_value");
        }
        for (String sequence : sequences) {
            // An empty stop sequence would match at once and end every generation before it starts.
            if (sequence.isEmpty() || sequence.length() > MAX_STOP_LENGTH) {
                throw invalid(at(name), "Stop sequences must be 1 to %d characters long.".formatted(MAX_STOP_LENGTH),
                        "invalid_value");
            }
        }
        return sequences;
    }

    /** A parameter that is one string or an array of strings (OpenAI's {@code stop} and {@code input}); none when absent. */
    public List<String> strings(String name) {
        JsonNode value = raw(name);
        List<String> strings = new ArrayList<>();
        if (value == null) {
            return strings;
        }
        if (value.isString()) {
            strings.add(value.getStringValue());
        } else if (value.isArray()) {
            for (Element element : array(name).orElseThrow()) {
                strings.add(element.asString());
            }
        } else {
            throw typeError(name, "a string or an array of strings", value);
        }
        return strings;
    }

    /** Refuses an empty text among {@code texts}, read from {@code name} by {@link #strings}, naming the element. */
    public void noEmptyTexts(String name, List<String> texts) {
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i).isEmpty()) {
                throw invalid(raw(name).isArray() ? at(name) + "[" + i + "]" : at(name), "Input texts must not be empty.",
                        "invalid_value");
            }
        }
    }

    /**
     * A parameter this server does not implement, accepted only at the value that changes nothing
     * (Ollama's {@code typical_p: 1}, for example), since clients send their defaults.
     */
    public void neutralOnly(String name, double neutral) {
        number(name, -Double.MAX_VALUE, Double.MAX_VALUE).filter(value -> value != neutral).ifPresent(value -> {
            throw new ApiException(new ApiError.Unsupported(at(name),
                    "'%s' is not supported by this server; leave it out or at %s.".formatted(at(name), format(neutral))));
        });
    }

    /** One array element: a value and where it is. */
    public record Element(JsonNode value, String path) {
        public RequestFields asObject() {
            if (!value.isObject()) {
                throw invalid(path, "Invalid type for '%s': expected an object, but got %s.".formatted(path, kind(value)),
                        "invalid_type");
            }
            return new RequestFields(value, path);
        }

        public String asString() {
            if (!value.isString()) {
                throw invalid(path, "Invalid type for '%s': expected a string, but got %s.".formatted(path, kind(value)),
                        "invalid_type");
            }
            return value.getStringValue();
        }
    }

    /** The path of {@code name} in the body; a name the client made up (an unknown key) is cut short like any echo. */
    private String at(String name) {
        return path.isEmpty() ? Echo.of(name) : path + "." + Echo.of(name);
    }

    private ApiException typeError(String name, String expected, JsonNode value) {
        return invalid(at(name), "Invalid type for '%s': expected %s, but got %s.".formatted(at(name), expected, kind(value)),
                "invalid_type");
    }

    public static ApiException invalid(String param, String message, String code) {
        return new ApiException(new ApiError.InvalidRequest(param, message, code));
    }

    public static String kind(JsonNode value) {
        if (value.isString()) {
            return "a string";
        }
        if (value.isNumber()) {
            return "a number";
        }
        if (value.isBoolean()) {
            return "a boolean";
        }
        if (value.isArray()) {
            return "an array";
        }
        if (value.isObject()) {
            return "an object";
        }
        return "null";
    }

    private static String format(double value) {
        return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
    }
}
