package io.knllama.inference;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

class SchemaSupportTest {

    private static final JsonMapper JSON = JsonMapper.createDefault();

    private static JsonNode parse(String schema) throws IOException {
        return JSON.readValue(schema.replace('\'', '"'), JsonNode.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{'type':'object','properties':{'name':{'type':'string'},'age':{'type':'integer','minimum':0,'maximum':150}},'required':['name'],'additionalProperties':false}",
        "{'type':'array','items':{'type':'string','enum':['a','b']},'minItems':1,'maxItems':3}",
        "{'anyOf':[{'type':'string','format':'date'},{'type':'null'}]}",
        "{'$defs':{'point':{'type':'object','properties':{'x':{'type':'number'}}}},'type':'object','properties':{'p':{'$ref':'#/$defs/point'}}}",
        "{'type':['string','null'],'description':'optional text','maxLength':20}",
        "{'const':'fixed'}",
        "{}",
    })
    void admits_the_shapes_structured_output_uses(String schema) {
        assertThatCode(() -> SchemaSupport.check(parse(schema))).doesNotThrowAnyException();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{'type':'string','pattern':'^a+$'}",
        "{'type':'object','patternProperties':{'a':{}}}",
        "{'$ref':'https://example.com/schema.json'}",
        "{'type':'array','items':[{'type':'string'}]}",
        "{'type':'string','format':'email'}",
        "{'allOf':[{'type':'string'}]}",
        "{'not':{'type':'string'}}",
        "{'type':'number','minimum':0}",
    })
    void refuses_what_llama_cpp_cannot_convert_as_unsupported(String schema) throws IOException {
        ApiException refused = catchThrowableOfType(ApiException.class, () -> SchemaSupport.check(parse(schema)));

        assertThat(refused).isNotNull();
        assertThat(refused.error()).isInstanceOf(ApiError.Unsupported.class);
        assertThat(refused.error().status()).isEqualTo(400);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{'type':'strin'}",
        "{'type':'object','properties':{'a':{'type':'string'}},'required':['b']}",
        "{'$ref':'#/$defs/missing'}",
        "{'type':'string','minLength':5,'maxLength':2}",
        "{'enum':[]}",
        "{'type':'integer','minimum':1e12}",
        "[1,2]",
        "{'properties':{'a':true}}",
    })
    void refuses_invalid_schemas_naming_where(String schema) throws IOException {
        ApiException refused = catchThrowableOfType(ApiException.class, () -> SchemaSupport.check(parse(schema)));

        assertThat(refused).isNotNull();
        assertThat(refused.error()).isInstanceOf(ApiError.InvalidRequest.class);
        assertThat(refused.getMessage()).contains("JSON schema at '");
    }

    @org.junit.jupiter.api.Test
    void refuses_schemas_nested_deeper_than_the_native_converter_should_recurse() throws IOException {
        String deep = "{'type':'array','items':".repeat(40) + "{'type':'string'}" + "}".repeat(40);

        ApiException refused = catchThrowableOfType(ApiException.class, () -> SchemaSupport.check(parse(deep)));

        assertThat(refused.getMessage()).contains("deeper");
    }
}
