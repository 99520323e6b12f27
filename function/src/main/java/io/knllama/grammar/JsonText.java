package io.knllama.grammar;

import io.micronaut.json.tree.JsonNode;

import java.math.BigDecimal;
import java.util.Map;

/**
 * The compact JSON text of a value, as a grammar must make the model write it: strings with control
 * characters and unpaired surrogates escaped (so the text is valid UTF-8 and never contains U+0000),
 * numbers in their shortest exact form.
 */
final class JsonText {

    private JsonText() {
    }

    static String of(JsonNode value) {
        StringBuilder out = new StringBuilder();
        write(value, out);
        return out.toString();
    }

    /** The JSON Schema type of a value; a number with no fractional part is an "integer". */
    static String type(JsonNode value) {
        if (value.isNull()) {
            return "null";
        }
        if (value.isBoolean()) {
            return "boolean";
        }
        if (value.isNumber()) {
            BigDecimal number = new BigDecimal(value.getNumberValue().toString());
            return number.signum() == 0 || number.stripTrailingZeros().scale() <= 0 ? "integer" : "number";
        }
        return value.isString() ? "string" : value.isArray() ? "array" : "object";
    }

    static String string(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2);
        writeString(text, out);
        return out.toString();
    }

    private static void write(JsonNode value, StringBuilder out) {
        if (value.isNull()) {
            out.append("null");
        } else if (value.isBoolean()) {
            out.append(value.getBooleanValue());
        } else if (value.isNumber()) {
            BigDecimal number = new BigDecimal(value.getNumberValue().toString()).stripTrailingZeros();
            out.append(number.scale() <= 0 && number.precision() - number.scale() <= 16
                    ? number.toBigIntegerExact().toString() : number.toString());
        } else if (value.isString()) {
            writeString(value.getStringValue(), out);
        } else if (value.isArray()) {
            out.append('[');
            boolean first = true;
            for (JsonNode element : value.values()) {
                out.append(first ? "" : ",");
                write(element, out);
                first = false;
            }
            out.append(']');
        } else {
            out.append('{');
            boolean first = true;
            for (Map.Entry<String, JsonNode> entry : value.entries()) {
                out.append(first ? "" : ",");
                writeString(entry.getKey(), out);
                out.append(':');
                write(entry.getValue(), out);
                first = false;
            }
            out.append('}');
        }
    }

    private static void writeString(String text, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean pairedSurrogate = Character.isHighSurrogate(c) && i + 1 < text.length()
                    && Character.isLowSurrogate(text.charAt(i + 1));
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (pairedSurrogate) {
                        out.append(c).append(text.charAt(++i));
                    } else if (c < 0x20 || c == 0x7f || Character.isSurrogate(c)) {
                        out.append("\\u%04x".formatted((int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
