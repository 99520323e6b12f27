package io.knllama.grammar;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.micronaut.json.tree.JsonNode;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns a JSON Schema into the GBNF grammar that constrains generation to JSON matching it, in Java.
 *
 * <p>Why here and not in llama.cpp: b4916's converter reports what it does not understand by throwing C++
 * exceptions that the JNI binding does not catch, so an ordinary schema (a property with only a {@code title},
 * as Pydantic writes for {@code Any}) aborted the process. Here the native side only ever sees a grammar
 * this package wrote: plain ASCII, every rule defined, no left recursion, and within a {@link Limits budget}
 * that bounds what the native parser and sampler spend on it.
 *
 * <p>What is supported is what structured output is used with (OpenAI's structured outputs, Pydantic, Zod):
 * {@code type} (one or several), {@code properties}, {@code required}, {@code additionalProperties},
 * {@code items}, {@code prefixItems}, {@code minItems}/{@code maxItems}, {@code enum}, {@code const},
 * {@code anyOf}/{@code oneOf}, {@code allOf} of objects, local {@code $ref}s (recursion included) into
 * {@code $defs}/{@code definitions} or any JSON pointer, {@code minLength}/{@code maxLength}, string formats
 * {@code date}, {@code time}, {@code date-time}, {@code uuid}, {@code email}, {@code uri}, {@code ipv4}
 * (other formats are annotations, as JSON Schema defines them), integer and number bounds (integral bounds for
 * numbers). Annotations ({@code title}, {@code description}, {@code default}, {@code examples}, ...) are
 * ignored. Anything else is refused by name with {@link ApiError.Unsupported}, rather than ignored, so an
 * answer never silently breaks a constraint the caller asked for. Properties are generated required ones
 * first, in their declared order; without {@code additionalProperties} an object has only its declared
 * properties (as OpenAI's strict mode requires).
 */
public final class JsonSchemaGrammar {

    /** What one schema may cost. */
    public record Limits(int maxNodes, int maxDepth, int maxEnumValues, int maxLiteralChars, int maxAlternatives,
                         int maxRepetitions, int maxGrammarBytes) {
        /**
         * OpenAI's structured-output limits where it has them (5,000 properties, 1,000 enum values), and what keeps
         * one native grammar step well under a second on a 262k-token vocabulary where it has not.
         */
        public static final Limits DEFAULT = new Limits(5_000, 32, 1_000, 60_000, 256, 20_000, 256 * 1024);
    }

    private static final Set<String> TYPES = Set.of("object", "array", "string", "number", "integer", "boolean", "null");
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema", "$id",
            "$comment", "$anchor", "readOnly", "writeOnly", "deprecated", "discriminator", "contentMediaType",
            "contentEncoding", "nullable", "strict");
    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties", "items",
            "prefixItems", "minItems", "maxItems", "uniqueItems", "enum", "const", "anyOf", "oneOf", "allOf", "$ref",
            "$defs", "definitions", "format", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum");
    // Formats write a subset of what the format admits, chosen so common validators accept every answer:
    // dates that exist (February stops at 28), e-mail domains under a common top-level domain, absolute URIs.
    private static final String LABEL = "[a-z0-9] ([a-z0-9\\x2D]{0,20} [a-z0-9])?";
    private static final String PCHAR = "[A-Za-z0-9._~!$&'()*+,;=:@\\x2D] | \"%\" [0-9A-F]{2}";
    private static final Map<String, String> FORMATS = Map.of(
            "date", "[0-9]{4} \"-\" ((\"0\" [13578] | \"1\" [02]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01])"
                    + " | (\"0\" [469] | \"11\") \"-\" (\"0\" [1-9] | [12] [0-9] | \"30\")"
                    + " | \"02-\" (\"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8]))",
            "time", "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,6})? "
                    + "(\"Z\" | [+\\x2D] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])",
            "uuid", "[0-9a-f]{8} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{12}",
            "email", "[A-Za-z0-9_%+\\x2D]{1,20} (\".\" [A-Za-z0-9_%+\\x2D]{1,20}){0,2} \"@\" " + LABEL + " (\".\" " + LABEL
                    + "){0,2} \".\" (\"com\" | \"org\" | \"net\" | \"edu\" | \"gov\" | \"io\" | \"dev\" | \"ai\" | \"app\""
                    + " | \"info\" | \"co\" | \"uk\" | \"de\" | \"fr\" | \"jp\" | \"es\" | \"it\" | \"nl\" | \"ca\" | \"au\""
                    + " | \"in\" | \"br\" | \"ch\" | \"se\" | \"us\" | \"eu\")",
            "uri", "[a-z] [a-z0-9+.\\x2D]{0,15} \"://\" " + LABEL + " (\".\" " + LABEL + "){0,3} (\":\" [1-9] [0-9]{0,3})? "
                    + "(\"/\" (" + PCHAR + "){0,40}){0,10} (\"?\" (" + PCHAR + " | [/?]){0,100})? (\"#\" (" + PCHAR + " | [/?]){0,50})?",
            "ipv4", "(octet \".\"){3} octet");
    private static final String OCTET = "\"25\" [0-5] | \"2\" [0-4] [0-9] | \"1\" [0-9] [0-9] | [1-9] [0-9] | [0-9]";
    private static final String SPACE = "| \" \" | \"\\n\" [ \\t]{0,20}";
    // One character of a JSON string. Surrogates are left out, raw or escaped: a pair of escapes is one character
    // to JSON Schema's minLength/maxLength but two here, and a lone one is no character at all (llama.cpp's decoder
    // lets byte tokens spell one, and beyond U+10FFFF, where any strict decoder sees replacement characters).
    private static final String CHAR = "[^\"\\\\\\x7F\\x00-\\x1F\\uD800-\\uDFFF\\U00110000-\\U7FFFFFFF] | [\\\\] ([\"\\\\/bfnrt] | \"u\" ([0-9a-cA-C] [0-9a-fA-F]{3}"
            + " | [dD] [0-7] [0-9a-fA-F]{2} | [e-fE-F] [0-9a-fA-F]{3}))";
    private static final String ANY_OBJECT_GRAMMAR = anyObjectGrammar();

    private final JsonNode root;
    private final String param;
    private final Limits limits;
    private final Gbnf gbnf;
    private final Map<String, String> refRules = new HashMap<>();
    private int nodes;
    private int enumValues;
    private long literalChars;
    private int alternatives;

    private JsonSchemaGrammar(JsonNode root, String param, Limits limits) {
        this.root = root;
        this.param = param;
        this.limits = limits;
        this.gbnf = new Gbnf(new Gbnf.Budget(limits.maxRepetitions(), limits.maxGrammarBytes()));
        primitiveSpace(); // every value rule ends in it
    }

    /**
     * The grammar for {@code schema}.
     *
     * @param param the request parameter that holds the schema, for error messages ({@code response_format.json_schema.schema})
     * @throws ApiException {@link ApiError.InvalidRequest} for a malformed schema or one over the limits,
     *                      {@link ApiError.Unsupported} for a keyword this converter does not enforce
     */
    public static String of(JsonNode schema, String param) {
        return of(schema, param, Limits.DEFAULT);
    }

    public static String of(JsonNode schema, String param, Limits limits) {
        JsonSchemaGrammar converter = new JsonSchemaGrammar(schema, param, limits);
        String rootExpression = converter.visit(schema, "", 0);
        try {
            return converter.gbnf.render(rootExpression);
        } catch (Gbnf.GrammarTooLarge e) {
            throw converter.tooLarge("", e.getMessage());
        }
    }

    /** Any JSON object: {@code response_format: {"type": "json_object"}}. */
    public static String anyObject() {
        return ANY_OBJECT_GRAMMAR;
    }

    private static String anyObjectGrammar() {
        JsonSchemaGrammar converter = new JsonSchemaGrammar(JsonNode.createObjectNode(Map.of()), "", Limits.DEFAULT);
        try {
            return converter.gbnf.render(converter.anyObject0());
        } catch (Gbnf.GrammarTooLarge e) {
            throw new IllegalStateException(e);
        }
    }

    // --- the walk: each method returns a grammar expression that matches one JSON value and trailing space ---

    private String visit(JsonNode schema, String at, int depth) {
        if (++nodes > limits.maxNodes()) {
            throw tooLarge(at, "the schema has more than %d subschemas".formatted(limits.maxNodes()));
        }
        if (depth > limits.maxDepth()) {
            throw tooLarge(at, "the schema nests deeper than %d levels".formatted(limits.maxDepth()));
        }
        if (schema.isBoolean()) {
            if (schema.getBooleanValue()) {
                return anyValue();
            }
            throw invalid(at, "the schema 'false' admits no value");
        }
        if (!schema.isObject()) {
            throw invalid(at, "a schema must be a JSON object or a boolean");
        }
        Set<String> constraints = new LinkedHashSet<>();
        for (Map.Entry<String, JsonNode> entry : schema.entries()) {
            String key = entry.getKey();
            if (KEYWORDS.contains(key)) {
                constraints.add(key);
            } else if (!ANNOTATIONS.contains(key) && !key.startsWith("x-")) {
                throw unsupported(at + "/" + pointerEscape(key), "keyword '%s' is not supported in structured output".formatted(clip(key)));
            }
        }
        constraints.remove("$defs");
        constraints.remove("definitions");
        checkDefinitions(schema, at, depth);
        JsonNode uniqueItems = schema.get("uniqueItems");
        if (uniqueItems != null) {
            if (!uniqueItems.isBoolean()) {
                throw invalid(at + "/uniqueItems", "'uniqueItems' must be a boolean");
            }
            if (uniqueItems.getBooleanValue()) {
                throw unsupported(at + "/uniqueItems", "'uniqueItems: true' cannot be enforced while generating");
            }
            constraints.remove("uniqueItems");
        }

        if (constraints.contains("$ref")) {
            onlyWith(constraints, "$ref", Set.of(), at);
            return ref(schema.get("$ref"), at + "/$ref", depth);
        }
        if (constraints.contains("allOf")) {
            onlyWith(constraints, "allOf", Set.of(), at);
            return allOf(schema.get("allOf"), at + "/allOf", depth);
        }
        for (String union : new String[] {"anyOf", "oneOf"}) {
            if (constraints.contains(union)) {
                onlyWith(constraints, union, Set.of(), at);
                return union(schema.get(union), at + "/" + union, depth);
            }
        }
        Set<String> types = types(schema.get("type"), at + "/type");
        if (constraints.contains("enum") || constraints.contains("const")) {
            for (String other : constraints) {
                if (!Set.of("enum", "const", "type").contains(other)) {
                    throw unsupported(at, "'%s' together with '%s'".formatted(constraints.contains("enum") ? "enum" : "const", other));
                }
            }
            return literals(schema, types, at);
        }
        if (types == null) {
            if (constraints.contains("properties") || constraints.contains("additionalProperties")) {
                return object(schema, at, depth);
            }
            if (constraints.contains("items") || constraints.contains("prefixItems")) {
                return array(schema, at, depth);
            }
            if (!constraints.isEmpty()) {
                throw unsupported(at, "keywords %s need a 'type'".formatted(constraints));
            }
            return anyValue();
        }
        if (types.size() > 1) {
            countAlternatives(types.size(), at + "/type");
        }
        List<String> options = new ArrayList<>();
        for (String t : types) {
            options.add(typed(t, schema, at, depth));
        }
        return options.size() == 1 ? options.getFirst() : gbnf.rule(hint(at, "value"), String.join(" | ", options));
    }

    /** The schema's {@code type}, one name or several; {@code null} when it has none. */
    private Set<String> types(JsonNode type, String at) {
        if (type == null) {
            return null;
        }
        if (type.isString()) {
            return Set.of(checkType(type.getStringValue(), at));
        }
        if (!type.isArray() || type.size() == 0) {
            throw invalid(at, "'type' must be a type name or a non-empty array of them");
        }
        Set<String> types = new LinkedHashSet<>();
        int i = 0;
        for (JsonNode element : type.values()) {
            if (!element.isString()) {
                throw invalid(at + "/" + i, "'type' must list type names");
            }
            types.add(checkType(element.getStringValue(), at + "/" + i++));
        }
        return types;
    }

    private String typed(String type, JsonNode schema, String at, int depth) {
        return switch (type) {
            case "object" -> object(schema, at, depth);
            case "array" -> array(schema, at, depth);
            case "string" -> string(schema, at);
            case "integer" -> number(schema, at, true);
            case "number" -> number(schema, at, false);
            case "boolean" -> primitive("boolean", "(\"true\" | \"false\") space");
            case "null" -> primitive("null", "\"null\" space");
            default -> throw new IllegalStateException(type);
        };
    }

    private String object(JsonNode schema, String at, int depth) {
        JsonNode properties = schema.get("properties");
        Map<String, JsonNode> declared = new LinkedHashMap<>();
        if (properties != null) {
            if (!properties.isObject()) {
                throw invalid(at + "/properties", "'properties' must be an object");
            }
            for (Map.Entry<String, JsonNode> property : properties.entries()) {
                declared.put(property.getKey(), property.getValue());
            }
        }
        Set<String> required = new LinkedHashSet<>();
        JsonNode requiredNode = schema.get("required");
        if (requiredNode != null) {
            if (!requiredNode.isArray()) {
                throw invalid(at + "/required", "'required' must be an array of property names");
            }
            for (JsonNode name : requiredNode.values()) {
                if (!name.isString() || !declared.containsKey(name.getStringValue())) {
                    throw invalid(at + "/required", "'required' may only name properties listed in 'properties'");
                }
                required.add(name.getStringValue());
            }
        }
        JsonNode additional = schema.get("additionalProperties");
        String additionalValue = null;
        if (additional != null && !(additional.isBoolean() && !additional.getBooleanValue())) {
            additionalValue = additional.isBoolean() ? anyValue() : visit(additional, at + "/additionalProperties", depth + 1);
        } else if (additional == null && properties == null) {
            additionalValue = anyValue(); // {"type": "object"}: any object
        }

        List<String> requiredPairs = new ArrayList<>();
        List<String> optionalPairs = new ArrayList<>();
        for (Map.Entry<String, JsonNode> property : declared.entrySet()) {
            String name = property.getKey();
            countLiteral(name, at + "/properties");
            String value = visit(property.getValue(), at + "/properties/" + pointerEscape(name), depth + 1);
            String pair = Gbnf.literal(JsonText.string(name)) + " space \":\" space " + value;
            (required.contains(name) ? requiredPairs : optionalPairs).add(pair);
        }
        StringBuilder body = new StringBuilder("\"{\" space ");
        body.append(String.join(" \",\" space ", requiredPairs));
        if (!optionalPairs.isEmpty() || additionalValue != null) {
            String rest = optionalChain(optionalPairs, additionalValue, at);
            body.append(requiredPairs.isEmpty() ? "(" + rest + ")? " : " (\",\" space " + rest + ")? ");
        } else if (!requiredPairs.isEmpty()) {
            body.append(' ');
        }
        body.append("\"}\" space");
        return gbnf.rule(hint(at, "object"), body.toString());
    }

    /**
     * Any non-empty run of the optional pairs, in order, comma-separated, followed by any number of additional
     * pairs when {@code additionalValue} allows them. (Additional keys are any string, declared names included.)
     */
    private String optionalChain(List<String> pairs, String additionalValue, String at) {
        String next = null;
        if (additionalValue != null) {
            String kv = gbnf.rule("additional-kv", primitiveString() + " \":\" space " + additionalValue);
            next = gbnf.rule(hint(at, "additional"), kv + " (\",\" space " + kv + ")*");
        }
        for (int i = pairs.size() - 1; i >= 0; i--) {
            String pair = pairs.get(i);
            next = gbnf.rule(hint(at, "rest"), next == null ? pair : pair + " (\",\" space " + next + ")? | " + next);
        }
        return next;
    }

    private String array(JsonNode schema, String at, int depth) {
        long min = count(schema, "minItems", at, 0);
        Long max = schema.get("maxItems") == null ? null : count(schema, "maxItems", at, 0);
        if (max != null && min > max) {
            throw invalid(at, "'minItems' is greater than 'maxItems'");
        }
        JsonNode items = schema.get("items");
        JsonNode prefix = schema.get("prefixItems");
        if (items != null && items.isArray()) {
            if (prefix != null) {
                throw invalid(at + "/items", "'items' must be a schema when 'prefixItems' is present");
            }
            prefix = items; // draft 4-7 tuples
            items = null;
        }
        if (prefix != null) {
            return tuple(prefix, items, min, max, at, depth);
        }
        String item = items == null ? anyValue() : visit(items, at + "/items", depth + 1);
        String body;
        if (max != null && max == 0) {
            body = "\"[\" space \"]\" space";
        } else {
            String more = gbnf.repeat("\",\" space " + item, Math.max(0, min - 1), max == null ? null : max - 1);
            String elements = item + (more.isEmpty() ? "" : " " + more);
            body = "\"[\" space " + (min == 0 ? "(" + elements + ")?" : elements) + " \"]\" space";
        }
        return gbnf.rule(hint(at, "array"), body);
    }

    private String tuple(JsonNode prefix, JsonNode items, long min, Long max, String at, int depth) {
        if (!prefix.isArray() || prefix.size() == 0) {
            throw invalid(at + "/prefixItems", "'prefixItems' must be a non-empty array of schemas");
        }
        boolean closed = items != null && items.isBoolean() && !items.getBooleanValue();
        int n = prefix.size();
        if ((items != null && !closed) || min > n || (max != null && max < n) || (min != n && min != 0)) {
            throw unsupported(at + "/prefixItems", "only tuples of exactly their 'prefixItems' are supported");
        }
        List<String> elements = new ArrayList<>();
        int i = 0;
        for (JsonNode element : prefix.values()) {
            elements.add(visit(element, at + "/prefixItems/" + i++, depth + 1));
        }
        return gbnf.rule(hint(at, "tuple"), "\"[\" space " + String.join(" \",\" space ", elements) + " \"]\" space");
    }

    private String string(JsonNode schema, String at) {
        JsonNode format = schema.get("format");
        if (format != null && !format.isString()) {
            throw invalid(at + "/format", "'format' must be a string");
        }
        String known = format != null && (FORMATS.containsKey(format.getStringValue())
                || format.getStringValue().equals("date-time")) ? format.getStringValue() : null;
        long min = count(schema, "minLength", at, 0);
        Long max = schema.get("maxLength") == null ? null : count(schema, "maxLength", at, 0);
        if (max != null && min > max) {
            throw invalid(at, "'minLength' is greater than 'maxLength'");
        }
        if (known != null) {
            if (min > 0 || max != null) {
                throw unsupported(at, "'minLength'/'maxLength' together with format '%s'".formatted(known));
            }
            primitiveSpace();
            return gbnf.rule(known + "-string", "\"\\\"\" " + formatText(known) + " \"\\\"\" space");
        }
        if (min == 0 && max == null) {
            return primitiveString();
        }
        primitive("char", CHAR);
        return gbnf.rule("string-" + min + "-" + (max == null ? "" : max), "\"\\\"\" " + gbnf.repeat("char", min, max) + " \"\\\"\" space");
    }

    /** A rule for the text of a formatted string, without its quotes. */
    private String formatText(String format) {
        return switch (format) {
            case "date-time" -> gbnf.rule("date-time-text", formatText("date") + " \"T\" " + formatText("time"));
            case "ipv4" -> {
                gbnf.primitive("octet", OCTET);
                yield gbnf.rule("ipv4-text", FORMATS.get("ipv4"));
            }
            default -> gbnf.rule(format + "-text", FORMATS.get(format));
        };
    }

    private String number(JsonNode schema, String at, boolean integer) {
        BigDecimal minimum = bound(schema, "minimum", at);
        BigDecimal maximum = bound(schema, "maximum", at);
        BigDecimal exclusiveMinimum = bound(schema, "exclusiveMinimum", at);
        BigDecimal exclusiveMaximum = bound(schema, "exclusiveMaximum", at);
        if (minimum == null && maximum == null && exclusiveMinimum == null && exclusiveMaximum == null) {
            return integer ? primitive("integer", NumberRanges.ANY_INTEGER + " space")
                    : primitive("number", NumberRanges.ANY_NUMBER + " space");
        }
        // The tighter of an inclusive and an exclusive bound on the same side decides.
        boolean lowOpen = exclusiveMinimum != null && (minimum == null || exclusiveMinimum.compareTo(minimum) >= 0);
        BigDecimal low = lowOpen ? exclusiveMinimum : minimum;
        boolean highOpen = exclusiveMaximum != null && (maximum == null || exclusiveMaximum.compareTo(maximum) <= 0);
        BigDecimal high = highOpen ? exclusiveMaximum : maximum;
        BigInteger lowInteger = null;
        BigInteger highInteger = null;
        if (integer) {
            // Integers above a fractional minimum start at its ceiling (and likewise below a maximum).
            if (low != null) {
                BigDecimal ceiling = low.setScale(0, RoundingMode.CEILING);
                lowOpen = lowOpen && ceiling.compareTo(low) == 0;
                lowInteger = ceiling.toBigIntegerExact();
            }
            if (high != null) {
                BigDecimal floor = high.setScale(0, RoundingMode.FLOOR);
                highOpen = highOpen && floor.compareTo(high) == 0;
                highInteger = floor.toBigIntegerExact();
            }
        } else {
            try {
                lowInteger = low == null ? null : low.toBigIntegerExact();
                highInteger = high == null ? null : high.toBigIntegerExact();
            } catch (ArithmeticException fractional) {
                throw unsupported(at, "bounds of a 'number' must be whole numbers");
            }
        }
        String range = NumberRanges.between(lowInteger, lowOpen, highInteger, highOpen, integer);
        if (range == null) {
            throw invalid(at, "no %s lies within its bounds".formatted(integer ? "integer" : "number"));
        }
        return gbnf.rule(hint(at, integer ? "integer" : "number"), "(" + range + ") space");
    }

    private BigDecimal bound(JsonNode schema, String keyword, String at) {
        JsonNode value = schema.get(keyword);
        if (value == null) {
            return null;
        }
        if (!value.isNumber()) {
            throw invalid(at + "/" + keyword, "'%s' must be a number".formatted(keyword));
        }
        BigDecimal number = new BigDecimal(value.getNumberValue().toString());
        if (number.abs().compareTo(new BigDecimal(NumberRanges.MAX_BOUND)) > 0) {
            throw unsupported(at + "/" + keyword, "bounds beyond ±%s are not supported".formatted(NumberRanges.MAX_BOUND));
        }
        return number;
    }

    private String literals(JsonNode schema, Set<String> types, String at) {
        List<JsonNode> values = new ArrayList<>();
        JsonNode enumeration = schema.get("enum");
        JsonNode constant = schema.get("const");
        if (enumeration != null && constant != null) {
            throw unsupported(at, "'enum' together with 'const'");
        }
        if (constant != null) {
            values.add(constant);
        } else {
            if (!enumeration.isArray() || enumeration.size() == 0) {
                throw invalid(at + "/enum", "'enum' must be a non-empty array");
            }
            enumeration.values().forEach(values::add);
        }
        if (types != null) {
            // The value must also have one of the types: the others can never be valid.
            values.removeIf(value -> !types.contains(JsonText.type(value))
                    && !(JsonText.type(value).equals("integer") && types.contains("number")));
            if (values.isEmpty()) {
                throw invalid(at, "no value of 'enum'/'const' has the schema's 'type'");
            }
        }
        enumValues += values.size();
        if (enumValues > limits.maxEnumValues()) {
            throw tooLarge(at, "the schema lists more than %d enum and const values".formatted(limits.maxEnumValues()));
        }
        // Alternatives that share a prefix share their grammar too: the sampler then tracks one parse per
        // distinct next character instead of one per value, whatever the number of values.
        Trie trie = new Trie();
        for (JsonNode value : values) {
            String text = JsonText.of(value);
            countLiteral(text, at);
            trie.add(text);
        }
        return gbnf.rule(hint(at, "enum"), "(" + trie.expression() + ") space");
    }

    private String union(JsonNode alternativesNode, String at, int depth) {
        if (!alternativesNode.isArray() || alternativesNode.size() == 0) {
            throw invalid(at, "must be a non-empty array of schemas");
        }
        countAlternatives(alternativesNode.size(), at);
        List<String> options = new ArrayList<>();
        int i = 0;
        for (JsonNode alternative : alternativesNode.values()) {
            options.add(visit(alternative, at + "/" + i++, depth + 1));
        }
        return gbnf.rule(hint(at, "union"), String.join(" | ", new LinkedHashSet<>(options)));
    }

    /**
     * {@code allOf}: one schema, or objects whose properties and requirements are merged. (Pydantic wraps a
     * {@code $ref} in a one-element {@code allOf} to give it a description.)
     */
    private String allOf(JsonNode all, String at, int depth) {
        if (!all.isArray() || all.size() == 0) {
            throw invalid(at, "must be a non-empty array of schemas");
        }
        if (all.size() == 1) {
            return visit(all.get(0), at + "/0", depth + 1);
        }
        Map<String, JsonNode> properties = new LinkedHashMap<>();
        List<JsonNode> required = new ArrayList<>();
        JsonNode additional = null;
        int i = 0;
        for (JsonNode part : all.values()) {
            String partAt = at + "/" + i++;
            JsonNode schema = resolve(part, partAt, new HashSet<>());
            if (!schema.isObject()) {
                throw unsupported(partAt, "'allOf' of schemas other than objects");
            }
            for (Map.Entry<String, JsonNode> entry : schema.entries()) {
                switch (entry.getKey()) {
                    case "type" -> {
                        if (!entry.getValue().isString() || !entry.getValue().getStringValue().equals("object")) {
                            throw unsupported(partAt, "'allOf' of schemas other than objects");
                        }
                    }
                    case "properties" -> {
                        if (!entry.getValue().isObject()) {
                            throw invalid(partAt + "/properties", "'properties' must be an object");
                        }
                        for (Map.Entry<String, JsonNode> property : entry.getValue().entries()) {
                            if (properties.putIfAbsent(property.getKey(), property.getValue()) != null) {
                                throw unsupported(partAt + "/properties", "'allOf' parts that both define '%s'".formatted(clip(property.getKey())));
                            }
                        }
                    }
                    case "required" -> entry.getValue().values().forEach(required::add);
                    case "additionalProperties" -> additional = entry.getValue();
                    default -> {
                        if (!ANNOTATIONS.contains(entry.getKey()) && !entry.getKey().equals("$defs") && !entry.getKey().equals("definitions")) {
                            throw unsupported(partAt + "/" + pointerEscape(entry.getKey()),
                                    "keyword '%s' inside 'allOf'".formatted(clip(entry.getKey())));
                        }
                    }
                }
            }
        }
        Map<String, JsonNode> merged = new LinkedHashMap<>();
        merged.put("type", JsonNode.createStringNode("object"));
        merged.put("properties", JsonNode.createObjectNode(properties));
        merged.put("required", JsonNode.createArrayNode(required));
        if (additional != null) {
            merged.put("additionalProperties", additional);
        }
        return object(JsonNode.createObjectNode(merged), at, depth + 1);
    }

    /** A schema with its {@code $ref}s followed, for merging. */
    private JsonNode resolve(JsonNode schema, String at, Set<String> seen) {
        JsonNode ref = schema.isObject() ? schema.get("$ref") : null;
        if (ref == null) {
            return schema;
        }
        String target = refTarget(ref, at + "/$ref");
        if (!seen.add(target)) {
            throw invalid(at, "circular '$ref' through '%s'".formatted(clip(target)));
        }
        return resolve(lookup(target, at + "/$ref"), at, seen);
    }

    private String ref(JsonNode ref, String at, int depth) {
        String target = refTarget(ref, at);
        String existing = refRules.get(target);
        if (existing != null) {
            return existing;
        }
        JsonNode schema = lookup(target, at);
        checkNoLeftRecursion(target, at);
        String name = gbnf.reserve(target.isEmpty() ? "schema" : target.substring(target.lastIndexOf('/') + 1));
        refRules.put(target, name);
        // Each definition is converted once; a chain of references still counts as nesting.
        gbnf.define(name, visit(schema, "#" + target, depth + 1));
        return name;
    }

    private String refTarget(JsonNode ref, String at) {
        if (!ref.isString()) {
            throw invalid(at, "'$ref' must be a string");
        }
        String value = ref.getStringValue();
        if (!value.startsWith("#")) {
            throw unsupported(at, "only references within the schema (starting with '#') are supported");
        }
        String pointer;
        try {
            pointer = URLDecoder.decode(value.substring(1).replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException badEscape) {
            throw invalid(at, "'$ref' is not a valid URI fragment");
        }
        if (!pointer.isEmpty() && !pointer.startsWith("/")) {
            throw unsupported(at, "only JSON-pointer references ('#/...') are supported");
        }
        return pointer;
    }

    /** The subschema at a JSON pointer ({@code /$defs/a~1b} names the definition "a/b"). */
    private JsonNode lookup(String pointer, String at) {
        JsonNode node = root;
        if (!pointer.isEmpty()) {
            for (String token : pointer.substring(1).split("/", -1)) {
                String name = token.replace("~1", "/").replace("~0", "~");
                node = node.isObject() ? node.get(name) : node.isArray() && name.matches("\\d{1,9}") ? node.get(Integer.parseInt(name)) : null;
                if (node == null) {
                    throw invalid(at, "'$ref' points to '#%s', which the schema does not define".formatted(clip(pointer)));
                }
            }
        }
        return node;
    }

    /**
     * A reference that reaches itself without the grammar consuming a character on the way ({@code a: {anyOf:
     * [{$ref: a}, ...]}}) would be left recursion, which llama.cpp cannot parse; every JSON value starts with a
     * character, so only references, unions and {@code allOf} can form such a loop.
     */
    private void checkNoLeftRecursion(String start, String at) {
        Deque<String> pending = new ArrayDeque<>(List.of(start));
        Set<String> seen = new HashSet<>();
        while (!pending.isEmpty()) {
            String pointer = pending.pop();
            if (!seen.add(pointer)) {
                continue;
            }
            for (String next : leftmostRefs(lookup(pointer, at), at)) {
                if (next.equals(start)) {
                    throw invalid(at, "'$ref' to '#%s' refers back to itself before any value is written".formatted(clip(start)));
                }
                pending.push(next);
            }
        }
    }

    private List<String> leftmostRefs(JsonNode schema, String at) {
        List<String> refs = new ArrayList<>();
        if (!schema.isObject()) {
            return refs;
        }
        JsonNode ref = schema.get("$ref");
        if (ref != null) {
            refs.add(refTarget(ref, at));
        }
        for (String keyword : new String[] {"anyOf", "oneOf", "allOf"}) {
            JsonNode parts = schema.get(keyword);
            if (parts != null && parts.isArray()) {
                for (JsonNode part : parts.values()) {
                    if (++nodes > limits.maxNodes()) {
                        throw tooLarge(at, "the schema has more than %d subschemas".formatted(limits.maxNodes()));
                    }
                    refs.addAll(leftmostRefs(part, at));
                }
            }
        }
        return refs;
    }

    /** Definitions are only converted when referenced, but must be well-formed containers. */
    private void checkDefinitions(JsonNode schema, String at, int depth) {
        for (String keyword : new String[] {"$defs", "definitions"}) {
            JsonNode definitions = schema.get(keyword);
            if (definitions != null && !definitions.isObject()) {
                throw invalid(at + "/" + keyword, "'%s' must be an object".formatted(keyword));
            }
        }
    }

    // --- shared rules ---

    private String anyValue() {
        primitiveString();
        primitive("number", NumberRanges.ANY_NUMBER + " space");
        primitive("boolean", "(\"true\" | \"false\") space");
        primitive("null", "\"null\" space");
        primitive("object", "\"{\" space (string \":\" space value (\",\" space string \":\" space value)*)? \"}\" space");
        primitive("array", "\"[\" space (value (\",\" space value)*)? \"]\" space");
        return primitive("value", "object | array | string | number | boolean | null");
    }

    private String anyObject0() {
        anyValue();
        return "object";
    }

    private String primitiveString() {
        primitive("char", CHAR);
        return primitive("string", "\"\\\"\" char* \"\\\"\" space");
    }

    private String primitive(String name, String body) {
        primitiveSpace();
        return gbnf.primitive(name, body);
    }

    private void primitiveSpace() {
        gbnf.primitive("space", SPACE);
    }

    // --- checks and errors ---

    private String checkType(String type, String at) {
        if (!TYPES.contains(type)) {
            throw invalid(at, "unknown type '%s'".formatted(clip(type)));
        }
        return type;
    }

    private void onlyWith(Set<String> constraints, String keyword, Set<String> allowed, String at) {
        for (String other : constraints) {
            if (!other.equals(keyword) && !allowed.contains(other)) {
                throw unsupported(at, "'%s' together with '%s'".formatted(keyword, other));
            }
        }
    }

    private long count(JsonNode schema, String keyword, String at, long floor) {
        JsonNode value = schema.get(keyword);
        if (value == null) {
            return floor;
        }
        if (!value.isNumber()) {
            throw invalid(at + "/" + keyword, "'%s' must be a non-negative integer".formatted(keyword));
        }
        BigDecimal number = new BigDecimal(value.getNumberValue().toString());
        if (number.signum() < 0 || number.stripTrailingZeros().scale() > 0) {
            throw invalid(at + "/" + keyword, "'%s' must be a non-negative integer".formatted(keyword));
        }
        if (number.compareTo(BigDecimal.valueOf(limits.maxRepetitions())) > 0) {
            throw tooLarge(at + "/" + keyword, "'%s' may be at most %d".formatted(keyword, limits.maxRepetitions()));
        }
        return number.longValueExact();
    }

    private void countLiteral(String text, String at) {
        literalChars += text.length();
        if (literalChars > limits.maxLiteralChars()) {
            throw tooLarge(at, "its property names, enum and const values add up to more than %d characters"
                    .formatted(limits.maxLiteralChars()));
        }
    }

    private void countAlternatives(int count, String at) {
        alternatives += count;
        if (alternatives > limits.maxAlternatives()) {
            throw tooLarge(at, "it offers more than %d alternatives (anyOf, oneOf, type lists)".formatted(limits.maxAlternatives()));
        }
    }

    private static String hint(String at, String fallback) {
        int slash = at.lastIndexOf('/');
        String last = slash < 0 ? "" : at.substring(slash + 1);
        return last.isEmpty() || last.matches("\\d+|properties|items|anyOf|oneOf|allOf|\\$defs|definitions")
                ? fallback : last;
    }

    private static String pointerEscape(String name) {
        return name.replace("~", "~0").replace("/", "~1");
    }

    /** Request text quoted in an error, cut short: a message never echoes an unbounded input. */
    private static String clip(String text) {
        return text.length() <= 64 ? text : text.substring(0, 61) + "...";
    }

    private ApiException invalid(String at, String message) {
        return new ApiException(new ApiError.InvalidRequest(param,
                "Invalid JSON schema at '%s': %s.".formatted(where(at), message)));
    }

    private ApiException tooLarge(String at, String message) {
        return new ApiException(new ApiError.InvalidRequest(param,
                "JSON schema too large at '%s': %s.".formatted(where(at), message), "schema_too_large"));
    }

    private ApiException unsupported(String at, String message) {
        return new ApiException(new ApiError.Unsupported(param,
                "Unsupported JSON schema at '%s': %s.".formatted(where(at), message)));
    }

    private static String where(String at) {
        return at.isEmpty() ? "/" : clip(at);
    }

    /** Texts as a prefix tree, written as nested alternatives. */
    private static final class Trie {
        private final TreeMap<Integer, Trie> children = new TreeMap<>();
        private boolean terminal;

        void add(String text) {
            Trie node = this;
            for (int cp : text.codePoints().toArray()) {
                node = node.children.computeIfAbsent(cp, c -> new Trie());
            }
            node.terminal = true;
        }

        String expression() {
            List<String> alternatives = new ArrayList<>();
            for (Map.Entry<Integer, Trie> child : children.entrySet()) {
                // Follow a chain of single children into one literal.
                StringBuilder run = new StringBuilder().appendCodePoint(child.getKey());
                Trie node = child.getValue();
                while (!node.terminal && node.children.size() == 1) {
                    Map.Entry<Integer, Trie> only = node.children.firstEntry();
                    run.appendCodePoint(only.getKey());
                    node = only.getValue();
                }
                String literal = Gbnf.literal(run.toString());
                alternatives.add(node.children.isEmpty() ? literal : literal + " (" + node.expression() + ")");
            }
            if (terminal) {
                alternatives.add("");
            }
            return String.join(" | ", alternatives);
        }
    }
}
