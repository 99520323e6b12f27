package io.knllama.grammar;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class JsonSchemaGrammarTest {

    private static final JsonMapper JSON = JsonMapper.createDefault();
    private static final String PARAM = "response_format.json_schema.schema";

    static final List<String> REAL_WORLD_SCHEMAS = List.of("pydantic-person", "pydantic-any-field", "pydantic-recursive",
            "pydantic-v1-allof", "pydantic-discriminated", "zod-user", "openai-strict", "openai-ui-recursive", "misc-formats");

    static JsonNode parse(String json) {
        try {
            return JSON.readValue(json, JsonNode.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Single quotes stand for double quotes, to keep the schemas in this file readable. */
    private static GbnfMatcher grammar(String schema) {
        return GbnfMatcher.parse(JsonSchemaGrammar.of(parse(schema.replace('\'', '"')), PARAM));
    }

    private static ApiError refusal(String schema) {
        ApiException refused = catchThrowableOfType(ApiException.class,
                () -> JsonSchemaGrammar.of(parse(schema.replace('\'', '"')), PARAM));
        assertThat(refused).as("refused: %s", schema).isNotNull();
        assertThat(refused.error().param()).isEqualTo(PARAM);
        return refused.error();
    }

    static String realWorld(String name) {
        try (InputStream in = JsonSchemaGrammarTest.class.getResourceAsStream("schemas/" + name + ".json")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // --- the schemas that killed the process (issue 11) ---

    @Test
    void a_property_with_only_a_title_or_a_default_accepts_any_value() {
        GbnfMatcher grammar = grammar("{'type':'object','properties':{'a':{'title':'A'},'b':{'default':1}},'required':['a']}");

        assertThat(grammar.matches("{\"a\": 1}")).isTrue();
        assertThat(grammar.matches("{\"a\": {\"x\": [true, null, \"s\"]}, \"b\": -2.5}")).isTrue();
        assertThat(grammar.matches("{\"b\": 1}")).isFalse();
        assertThat(grammar.matches("{\"a\": 1, \"c\": 2}")).isFalse();
    }

    @Test
    void a_reference_to_a_definition_whose_name_holds_a_slash_uses_the_pointer_escape() {
        GbnfMatcher grammar = grammar("{'$defs':{'a/b':{'type':'string'}},'$ref':'#/$defs/a~1b'}");

        assertThat(grammar.matches("\"text\"")).isTrue();
        assertThat(grammar.matches("1")).isFalse();
    }

    @Test
    void a_reference_written_without_the_escape_points_nowhere_and_is_refused_by_name() {
        ApiError error = refusal("{'$defs':{'a/b':{'type':'string'}},'$ref':'#/$defs/a/b'}");

        assertThat(error).isInstanceOf(ApiError.InvalidRequest.class);
        assertThat(error.message()).isEqualTo("Invalid JSON schema at '/$ref': '$ref' points to '#/$defs/a/b', "
                + "which the schema does not define.");
    }

    @Test
    void an_unpaired_surrogate_in_an_enum_is_written_as_a_json_escape() {
        String grammar = JsonSchemaGrammar.of(parse("{\"enum\":[\"\\ud800\"]}"), PARAM);

        assertThat(GbnfMatcher.parse(grammar).matches("\"\\ud800\"")).isTrue();
        assertThat(grammar.chars()).allMatch(c -> c == '\n' || (c >= 0x20 && c < 0x7f));
    }

    @Test
    void a_nul_in_an_enum_is_written_as_a_json_escape_never_as_a_character() {
        String grammar = JsonSchemaGrammar.of(parse("{\"enum\":[\"a\\u0000b\"]}"), PARAM);

        assertThat(GbnfMatcher.parse(grammar).matches("\"a\\u0000b\"")).isTrue();
        assertThat(grammar).doesNotContain("\\x00\"").doesNotContain("\u0000");
    }

    // --- what structured output is used with ---

    static Stream<String> realWorldSchemas() {
        return REAL_WORLD_SCHEMAS.stream();
    }

    @ParameterizedTest
    @MethodSource("realWorldSchemas")
    void schemas_written_by_pydantic_zod_and_openai_examples_convert_to_printable_ascii(String name) {
        String grammar = JsonSchemaGrammar.of(parse(realWorld(name)), PARAM);

        GbnfMatcher.parse(grammar);
        assertThat(grammar.chars()).allMatch(c -> c == '\n' || (c >= 0x20 && c < 0x7f));
    }

    @Test
    void a_pydantic_model_accepts_a_valid_instance_and_rejects_broken_ones() {
        GbnfMatcher grammar = GbnfMatcher.parse(JsonSchemaGrammar.of(parse(realWorld("pydantic-person")), PARAM));
        String valid = """
                {"name": "Ada", "age": 36, "email": "ada@example.org", "address": {"street": "1 Main St", "city": "London"},
                 "scores": {"math": 9.5}, "created": "2024-02-28T12:00:00Z", "id": "123e4567-e89b-12d3-a456-426614174000",
                 "pair": [1, "x"], "kind": "a", "flag": true, "ratio": 0.25, "secret": "s3cret",
                 "tags": ["x"], "color": "green", "anything": [1, {"k": null}]}""".replace("\n", "");

        assertThat(grammar.matches(valid)).isTrue();
        assertThat(grammar.matches(valid.replace("\"age\": 36", "\"age\": 151"))).isFalse();
        assertThat(grammar.matches(valid.replace("\"kind\": \"a\"", "\"kind\": \"c\""))).isFalse();
        assertThat(grammar.matches(valid.replace("\"ratio\": 0.25", "\"ratio\": 0"))).isFalse();
        assertThat(grammar.matches(valid.replace("\"pair\": [1, \"x\"]", "\"pair\": [1]"))).isFalse();
        assertThat(grammar.matches(valid.replace("\"city\": \"London\"", "\"town\": \"London\""))).isFalse();
        assertThat(grammar.matches(valid.replace("2024-02-28T12:00:00Z", "yesterday"))).isFalse();
        assertThat(grammar.matches(valid.replace("\"Ada\"", "\"" + "A".repeat(51) + "\""))).isFalse();
    }

    @Test
    void optional_properties_may_be_left_out_in_any_combination_but_keep_their_order() {
        GbnfMatcher grammar = grammar("{'type':'object','properties':{'a':{'type':'integer'},'b':{'type':'integer'},"
                + "'c':{'type':'integer'}},'required':['b']}");

        assertThat(grammar.matches("{\"b\": 1}")).isTrue();
        assertThat(grammar.matches("{\"b\": 1, \"a\": 2}")).isTrue();
        assertThat(grammar.matches("{\"b\": 1, \"c\": 3}")).isTrue();
        assertThat(grammar.matches("{\"b\": 1, \"a\": 2, \"c\": 3}")).isTrue();
        assertThat(grammar.matches("{\"b\": 1, \"c\": 3, \"a\": 2}")).isFalse();
        assertThat(grammar.matches("{\"b\": 1,}")).isFalse();
        assertThat(grammar.matches("{}")).isFalse();
    }

    @Test
    void a_map_takes_any_keys_with_values_of_its_schema() {
        GbnfMatcher grammar = grammar("{'type':'object','additionalProperties':{'type':'boolean'}}");

        assertThat(grammar.matches("{}")).isTrue();
        assertThat(grammar.matches("{\"x\": true, \"y\": false}")).isTrue();
        assertThat(grammar.matches("{\"x\": 1}")).isFalse();
    }

    @Test
    void recursive_definitions_nest() {
        GbnfMatcher grammar = GbnfMatcher.parse(JsonSchemaGrammar.of(parse(realWorld("pydantic-recursive")), PARAM));

        assertThat(grammar.matches("{\"value\": 1, \"children\": [{\"value\": 2, \"children\": [{\"value\": 3}]}]}")).isTrue();
        assertThat(grammar.matches("{\"value\": 1, \"children\": [{\"children\": []}]}")).isFalse();
    }

    @Test
    void arrays_keep_their_bounds() {
        GbnfMatcher grammar = grammar("{'type':'array','items':{'type':'string','enum':['a','b']},'minItems':1,'maxItems':3}");

        assertThat(grammar.matches("[\"a\"]")).isTrue();
        assertThat(grammar.matches("[\"a\", \"b\", \"a\"]")).isTrue();
        assertThat(grammar.matches("[]")).isFalse();
        assertThat(grammar.matches("[\"a\", \"b\", \"a\", \"b\"]")).isFalse();
    }

    @Test
    void strings_keep_their_length_bounds_counting_an_escape_as_one_character() {
        GbnfMatcher grammar = grammar("{'type':'string','minLength':2,'maxLength':3}");

        assertThat(grammar.matches("\"ab\"")).isTrue();
        assertThat(grammar.matches("\"a\\nb\"")).isTrue();
        assertThat(grammar.matches("\"a\"")).isFalse();
        assertThat(grammar.matches("\"abcd\"")).isFalse();
    }

    @Test
    void enums_with_shared_prefixes_and_mixed_types_match_exactly_their_values() {
        GbnfMatcher grammar = grammar("{'enum':['red','redder','reddest',1,2.5,true,null,'']}");

        for (String value : List.of("\"red\"", "\"redder\"", "\"reddest\"", "1", "2.5", "true", "null", "\"\"")) {
            assertThat(grammar.matches(value)).as(value).isTrue();
        }
        for (String value : List.of("\"re\"", "\"reddes\"", "2", "false", "\"redd\"")) {
            assertThat(grammar.matches(value)).as(value).isFalse();
        }
    }

    @ParameterizedTest
    @CsvSource({
        // low, lowExclusive, high, highExclusive
        "13, false, 472, false",
        "-40, false, -3, false",
        "-7, true, 12, true",
        "0, false, , false",
        ", false, -5, false",
        "999, false, 1001, false",
        "-1000, false, 1000, false",
    })
    void integer_bounds_admit_exactly_the_integers_within_them(String low, boolean lowExclusive, String high, boolean highExclusive) {
        String schema = "{'type':'integer'" + (low == null ? "" : ",'" + (lowExclusive ? "exclusiveMinimum" : "minimum") + "':" + low)
                + (high == null ? "" : ",'" + (highExclusive ? "exclusiveMaximum" : "maximum") + "':" + high) + "}";
        GbnfMatcher grammar = grammar(schema);

        for (int n = -1100; n <= 1100; n++) {
            boolean inside = (low == null || (lowExclusive ? n > Integer.parseInt(low) : n >= Integer.parseInt(low)))
                    && (high == null || (highExclusive ? n < Integer.parseInt(high) : n <= Integer.parseInt(high)));
            assertThat(grammar.matches(Integer.toString(n))).as("%d in %s", n, schema).isEqualTo(inside);
        }
        assertThat(grammar.matches("-0")).isFalse();
        assertThat(grammar.matches("013")).isFalse();
    }

    @Test
    void random_integer_ranges_admit_exactly_their_members() {
        Random random = new Random(42);
        for (int trial = 0; trial < 200; trial++) {
            long a = random.nextLong(-2_000_000, 2_000_000);
            long b = a + random.nextLong(0, 200_000);
            GbnfMatcher grammar = grammar("{'type':'integer','minimum':" + a + ",'maximum':" + b + "}");
            for (long probe : new long[] {a - 1, a, a + 1, (a + b) / 2, b - 1, b, b + 1, random.nextLong(a, b + 1),
                    random.nextLong(-3_000_000, 3_000_000)}) {
                assertThat(grammar.matches(Long.toString(probe))).as("%d in [%d, %d]", probe, a, b)
                        .isEqualTo(probe >= a && probe <= b);
            }
        }
    }

    @Test
    void number_bounds_hold_for_fractions_too() {
        GbnfMatcher unit = grammar("{'type':'number','minimum':0,'maximum':1}");
        GbnfMatcher positive = grammar("{'type':'number','exclusiveMinimum':0}");
        GbnfMatcher negative = grammar("{'type':'number','minimum':-2,'exclusiveMaximum':-1}");

        assertThat(Stream.of("0", "0.5", "1", "1.000", "0.0001")).allMatch(unit::matches);
        assertThat(Stream.of("1.5", "-0.1", "2", "1.0001", "1e0")).noneMatch(unit::matches);
        assertThat(Stream.of("0.001", "3", "12.75")).allMatch(positive::matches);
        assertThat(Stream.of("0", "0.0", "-1", "-0.5")).noneMatch(positive::matches);
        assertThat(Stream.of("-2", "-1.5", "-1.01", "-2.000")).allMatch(negative::matches);
        assertThat(Stream.of("-1", "-1.0", "-2.5", "0", "-3")).noneMatch(negative::matches);
    }

    @Test
    void formats_constrain_the_text() {
        assertThat(grammar("{'type':'string','format':'date'}").matches("\"2025-12-31\"")).isTrue();
        assertThat(grammar("{'type':'string','format':'date'}").matches("\"2025-13-01\"")).isFalse();
        assertThat(grammar("{'type':'string','format':'uuid'}").matches("\"123e4567-e89b-12d3-a456-426614174000\"")).isTrue();
        assertThat(grammar("{'type':'string','format':'ipv4'}").matches("\"192.168.0.255\"")).isTrue();
        assertThat(grammar("{'type':'string','format':'ipv4'}").matches("\"256.1.1.1\"")).isFalse();
        assertThat(grammar("{'type':'string','format':'email'}").matches("\"a.b@example.org\"")).isTrue();
        assertThat(grammar("{'type':'string','format':'email'}").matches("\"not an email\"")).isFalse();
    }

    @Test
    void formats_json_schema_does_not_know_are_annotations() {
        assertThat(grammar("{'type':'string','format':'password'}").matches("\"any text\"")).isTrue();
    }

    @Test
    void a_property_name_needing_escapes_is_written_as_json_requires() {
        String schema = "{\"type\":\"object\",\"properties\":{\"a\\\"b\\\\c \u00e9\":{\"type\":\"null\"}},"
                + "\"required\":[\"a\\\"b\\\\c \u00e9\"]}";
        GbnfMatcher grammar = GbnfMatcher.parse(JsonSchemaGrammar.of(parse(schema), PARAM));

        assertThat(grammar.matches("{\"a\\\"b\\\\c \u00e9\": null}")).isTrue();
        assertThat(grammar.matches("{\"a\\\"b\\\\c e\": null}")).isFalse();
    }

    // --- refusals: each names the keyword and where ---

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{'type':'string','pattern':'^a+$'}| Unsupported JSON schema at '/pattern': keyword 'pattern' is not supported in structured output.",
        "{'not':{'type':'string'}}| Unsupported JSON schema at '/not': keyword 'not' is not supported in structured output.",
        "{'type':'array','items':{'type':'string'},'uniqueItems':true}| Unsupported JSON schema at '/uniqueItems': 'uniqueItems: true' cannot be enforced while generating.",
        "{'$ref':'https://example.com/s.json'}| Unsupported JSON schema at '/$ref': only references within the schema (starting with '#') are supported.",
        "{'type':'number','minimum':0.5}| Unsupported JSON schema at '/': bounds of a 'number' must be whole numbers.",
        "{'type':'object','properties':{'a':{'type':'string','minLngth':1}}}| Unsupported JSON schema at '/properties/a/minLngth': keyword 'minLngth' is not supported in structured output.",
        "{'allOf':[{'type':'string'},{'type':'integer'}]}| Unsupported JSON schema at '/allOf/0': 'allOf' of schemas other than objects.",
    })
    void what_cannot_be_enforced_is_refused_as_unsupported(String schema, String message) {
        ApiError error = refusal(schema);

        assertThat(error).isInstanceOf(ApiError.Unsupported.class);
        assertThat(error.code()).isEqualTo("unsupported_parameter");
        assertThat(error.message()).isEqualTo(message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{'type':'strin'}| Invalid JSON schema at '/type': unknown type 'strin'.",
        "{'type':'object','properties':{'a':{'type':'string'}},'required':['b']}| Invalid JSON schema at '/required': 'required' may only name properties listed in 'properties'.",
        "{'$ref':'#/$defs/missing'}| Invalid JSON schema at '/$ref': '$ref' points to '#/$defs/missing', which the schema does not define.",
        "{'type':'string','minLength':5,'maxLength':2}| Invalid JSON schema at '/': 'minLength' is greater than 'maxLength'.",
        "{'enum':[]}| Invalid JSON schema at '/enum': 'enum' must be a non-empty array.",
        "{'type':'integer','minimum':5,'maximum':4}| Invalid JSON schema at '/': no integer lies within its bounds.",
        "{'type':'integer','exclusiveMinimum':1,'exclusiveMaximum':2}| Invalid JSON schema at '/': no integer lies within its bounds.",
        "{'$defs':{'a':{'anyOf':[{'$ref':'#/$defs/a'},{'type':'null'}]}},'$ref':'#/$defs/a'}| Invalid JSON schema at '/$ref': '$ref' to '#/$defs/a' refers back to itself before any value is written.",
        "{'$defs':{'a':{'$ref':'#/$defs/b'},'b':{'$ref':'#/$defs/a'}},'$ref':'#/$defs/a'}| Invalid JSON schema at '/$ref': '$ref' to '#/$defs/a' refers back to itself before any value is written.",
        "{'type':'array','maxItems':-1}| Invalid JSON schema at '/maxItems': 'maxItems' must be a non-negative integer.",
        "false| Invalid JSON schema at '/': the schema 'false' admits no value.",
        "[1]| Invalid JSON schema at '/': a schema must be a JSON object or a boolean.",
    })
    void malformed_schemas_are_refused_as_invalid_naming_where(String schema, String message) {
        ApiError error = refusal(schema);

        assertThat(error).isInstanceOf(ApiError.InvalidRequest.class);
        assertThat(error.code()).isEqualTo("invalid_value");
        assertThat(error.message()).isEqualTo(message);
    }

    // --- bounds on what a schema may cost ---

    @Test
    void an_enum_of_a_hundred_thousand_strings_is_refused_before_any_grammar_is_built() {
        String values = IntStream.range(0, 100_000).mapToObj(i -> "\"value-" + i + "\"").collect(Collectors.joining(","));

        ApiError error = refusal("{'enum':[" + values.replace('"', '\'') + "]}");

        assertThat(error.code()).isEqualTo("schema_too_large");
        assertThat(error.message()).isEqualTo("JSON schema too large at '/': the schema lists more than 1000 enum and const values.");
    }

    @Test
    void a_thousand_properties_with_distinct_large_max_lengths_are_refused() {
        String properties = IntStream.range(0, 1000).mapToObj(i -> "'p" + i + "':{'type':'string','maxLength':" + (10_000 - i) + "}")
                .collect(Collectors.joining(","));

        ApiError error = refusal("{'type':'object','properties':{" + properties + "}}");

        assertThat(error.code()).isEqualTo("schema_too_large");
        assertThat(error.message()).startsWith("JSON schema too large at '/': its repetition bounds (maxLength, maxItems, ...) add up to ");
    }

    @Test
    void a_thousand_properties_sharing_one_large_max_length_share_one_rule() {
        String properties = IntStream.range(0, 1000).mapToObj(i -> "'p" + i + "':{'type':'string','maxLength':10000}")
                .collect(Collectors.joining(","));

        String grammar = JsonSchemaGrammar.of(parse(("{'type':'object','properties':{" + properties + "}}").replace('\'', '"')), PARAM);

        assertThat(grammar.lines().filter(line -> line.contains("{0,10000}"))).hasSize(1);
    }

    @Test
    void nesting_beyond_the_limit_is_refused() {
        String deep = "{'type':'array','items':".repeat(40) + "{'type':'string'}" + "}".repeat(40);

        ApiError error = refusal(deep);

        assertThat(error.code()).isEqualTo("schema_too_large");
        assertThat(error.message()).startsWith("JSON schema too large at '/items/items/");
    }

    @Test
    void error_messages_quote_at_most_64_characters_of_the_request() {
        String longName = "k".repeat(10_000);

        ApiError error = refusal("{'type':'object','properties':{'" + longName + "':{'type':'string','bogus':1}}}");

        assertThat(error.message().length()).isLessThan(300);
    }

    @Test
    void the_any_object_grammar_accepts_objects_only() {
        GbnfMatcher grammar = GbnfMatcher.parse(JsonSchemaGrammar.anyObject());

        assertThat(grammar.matches("{\"a\": [1, 2.5e3, \"x\", {\"b\": null}], \"c\": false}")).isTrue();
        assertThat(grammar.matches("[1]")).isFalse();
        assertThat(grammar.matches("\"x\"")).isFalse();
    }

    @Test
    void integers_beyond_the_bound_range_are_refused() {
        ApiError error = refusal("{'type':'integer','minimum':" + BigInteger.TEN.pow(16) + "}");

        assertThat(error).isInstanceOf(ApiError.Unsupported.class);
    }
}
