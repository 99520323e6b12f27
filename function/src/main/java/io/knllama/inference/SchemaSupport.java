package io.knllama.inference;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.micronaut.json.tree.JsonNode;

import java.util.Map;
import java.util.Set;

/**
 * The subset of JSON Schema that structured output accepts, checked before a schema reaches llama.cpp.
 *
 * <p>llama.cpp's schema-to-grammar converter reports what it cannot handle by throwing a C++ exception,
 * and the JNI binding does not catch it: an unsupported keyword would abort the whole process. So
 * instead of passing schemas through and hoping, this admits what the converter is known to handle
 * (the shapes OpenAI's structured outputs use: objects with properties, required, additionalProperties,
 * arrays, enums, consts, unions, local {@code $ref}s, a few string formats, integer ranges) and rejects
 * the rest with a message naming the keyword and where it is.
 */
final class SchemaSupport {

    static final int MAX_DEPTH = 24;
    static final int MAX_NODES = 4_000;

    private static final Set<String> TYPES = Set.of("object", "array", "string", "number", "integer", "boolean", "null");
    private static final Set<String> FORMATS = Set.of("date", "time", "date-time", "uuid");
    private static final Set<String> ANNOTATIONS = Set.of("description", "title", "default", "examples", "$schema", "$id", "$comment");
    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties", "items",
            "minItems", "maxItems", "enum", "const", "anyOf", "oneOf", "$ref", "$defs", "definitions", "format",
            "minLength", "maxLength", "minimum", "maximum");
    private static final long MAX_LENGTH = 10_000;
    private static final long MAX_INTEGER_BOUND = 1_000_000_000L;

    private final JsonNode root;
    private int nodes;

    private SchemaSupport(JsonNode root) {
        this.root = root;
    }

    /** Fails with an {@link ApiError.Unsupported} or {@link ApiError.InvalidRequest} unless the schema is in the subset. */
    static void check(JsonNode schema) {
        new SchemaSupport(schema).visit(schema, "", 0);
    }

    private void visit(JsonNode schema, String at, int depth) {
        if (++nodes > MAX_NODES) {
            throw invalid(at, "the schema has more than %d subschemas".formatted(MAX_NODES));
        }
        if (depth > MAX_DEPTH) {
            throw invalid(at, "the schema nests deeper than %d levels".formatted(MAX_DEPTH));
        }
        if (!schema.isObject()) {
            throw invalid(at, "a schema must be a JSON object");
        }
        for (Map.Entry<String, JsonNode> entry : schema.entries()) {
            String key = entry.getKey();
            if (!KEYWORDS.contains(key) && !ANNOTATIONS.contains(key)) {
                throw unsupported(at + "/" + key, "keyword '%s' is not supported in structured output".formatted(key));
            }
        }
        JsonNode type = schema.get("type");
        if (type != null) {
            checkType(type, at + "/type");
        }
        JsonNode properties = schema.get("properties");
        if (properties != null) {
            if (!properties.isObject()) {
                throw invalid(at + "/properties", "'properties' must be an object");
            }
            for (Map.Entry<String, JsonNode> property : properties.entries()) {
                visit(property.getValue(), at + "/properties/" + property.getKey(), depth + 1);
            }
        }
        JsonNode required = schema.get("required");
        if (required != null) {
            if (!required.isArray()) {
                throw invalid(at + "/required", "'required' must be an array of property names");
            }
            for (JsonNode name : required.values()) {
                if (!name.isString() || properties == null || properties.get(name.getStringValue()) == null) {
                    throw invalid(at + "/required", "'required' may only name properties listed in 'properties'");
                }
            }
        }
        JsonNode additional = schema.get("additionalProperties");
        if (additional != null && !additional.isBoolean()) {
            visit(additional, at + "/additionalProperties", depth + 1);
        }
        JsonNode items = schema.get("items");
        if (items != null) {
            if (items.isArray()) {
                throw unsupported(at + "/items", "tuple 'items' (an array of schemas) is not supported");
            }
            visit(items, at + "/items", depth + 1);
        }
        for (String union : new String[] {"anyOf", "oneOf"}) {
            JsonNode alternatives = schema.get(union);
            if (alternatives != null) {
                if (!alternatives.isArray() || alternatives.size() == 0) {
                    throw invalid(at + "/" + union, "'%s' must be a non-empty array of schemas".formatted(union));
                }
                int i = 0;
                for (JsonNode alternative : alternatives.values()) {
                    visit(alternative, at + "/" + union + "/" + i++, depth + 1);
                }
            }
        }
        for (String defs : new String[] {"$defs", "definitions"}) {
            JsonNode definitions = schema.get(defs);
            if (definitions != null) {
                if (!definitions.isObject()) {
                    throw invalid(at + "/" + defs, "'%s' must be an object".formatted(defs));
                }
                for (Map.Entry<String, JsonNode> definition : definitions.entries()) {
                    visit(definition.getValue(), at + "/" + defs + "/" + definition.getKey(), depth + 1);
                }
            }
        }
        JsonNode ref = schema.get("$ref");
        if (ref != null) {
            checkRef(ref, at + "/$ref");
        }
        JsonNode enumeration = schema.get("enum");
        if (enumeration != null) {
            if (!enumeration.isArray() || enumeration.size() == 0) {
                throw invalid(at + "/enum", "'enum' must be a non-empty array");
            }
            for (JsonNode value : enumeration.values()) {
                checkLiteral(value, at + "/enum");
            }
        }
        JsonNode constant = schema.get("const");
        if (constant != null) {
            checkLiteral(constant, at + "/const");
        }
        JsonNode format = schema.get("format");
        if (format != null && (!format.isString() || !FORMATS.contains(format.getStringValue()))) {
            throw unsupported(at + "/format", "only the formats " + FORMATS + " are supported");
        }
        checkRange(schema, "minLength", "maxLength", 0, MAX_LENGTH, at);
        checkRange(schema, "minItems", "maxItems", 0, MAX_LENGTH, at);
        if (schema.get("minimum") != null || schema.get("maximum") != null) {
            if (type == null || !type.isString() || !"integer".equals(type.getStringValue())) {
                throw unsupported(at, "'minimum' and 'maximum' are supported on integers only");
            }
            checkRange(schema, "minimum", "maximum", -MAX_INTEGER_BOUND, MAX_INTEGER_BOUND, at);
        }
    }

    private void checkType(JsonNode type, String at) {
        if (type.isString()) {
            if (!TYPES.contains(type.getStringValue())) {
                throw invalid(at, "unknown type '%s'".formatted(type.getStringValue()));
            }
            return;
        }
        if (!type.isArray() || type.size() == 0) {
            throw invalid(at, "'type' must be a type name or a non-empty array of them");
        }
        for (JsonNode element : type.values()) {
            if (!element.isString() || !TYPES.contains(element.getStringValue())) {
                throw invalid(at, "'type' must list known type names");
            }
        }
    }

    private void checkRef(JsonNode ref, String at) {
        if (!ref.isString()) {
            throw invalid(at, "'$ref' must be a string");
        }
        String target = ref.getStringValue();
        for (String defs : new String[] {"#/$defs/", "#/definitions/"}) {
            if (target.startsWith(defs)) {
                JsonNode definitions = root.get(defs.substring(2, defs.length() - 1));
                String name = target.substring(defs.length());
                if (definitions != null && definitions.isObject() && definitions.get(name) != null) {
                    return;
                }
                throw invalid(at, "'$ref' points to '%s', which the schema does not define".formatted(target));
            }
        }
        throw unsupported(at, "only local references of the form #/$defs/<name> are supported");
    }

    private static void checkLiteral(JsonNode value, String at) {
        if (value.isObject() || value.isArray()) {
            throw unsupported(at, "only strings, numbers, booleans and null may be listed");
        }
    }

    private static void checkRange(JsonNode schema, String minKey, String maxKey, long floor, long ceiling, String at) {
        Long min = bound(schema.get(minKey), floor, ceiling, at + "/" + minKey);
        Long max = bound(schema.get(maxKey), floor, ceiling, at + "/" + maxKey);
        if (min != null && max != null && min > max) {
            throw invalid(at, "'%s' is greater than '%s'".formatted(minKey, maxKey));
        }
    }

    private static Long bound(JsonNode value, long floor, long ceiling, String at) {
        if (value == null) {
            return null;
        }
        if (!value.isNumber() || value.getNumberValue().doubleValue() != Math.rint(value.getNumberValue().doubleValue())) {
            throw invalid(at, "must be an integer");
        }
        long number = value.getNumberValue().longValue();
        if (number < floor || number > ceiling) {
            throw invalid(at, "must be between %d and %d".formatted(floor, ceiling));
        }
        return number;
    }

    private static ApiException invalid(String at, String message) {
        return new ApiException(new ApiError.InvalidRequest("response_format",
                "Invalid JSON schema at '%s': %s.".formatted(at.isEmpty() ? "/" : at, message)));
    }

    private static ApiException unsupported(String at, String message) {
        return new ApiException(new ApiError.Unsupported("response_format",
                "Unsupported JSON schema at '%s': %s.".formatted(at.isEmpty() ? "/" : at, message)));
    }
}
