package io.knllama.openai;

import io.knllama.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every schema shape the guard admits really converts in llama.cpp: a conversion failure there would
 * abort the process, so this runs each one through the native converter and a generation.
 */
class ResponseFormatTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "{'type':'object','properties':{'name':{'type':'string'},'age':{'type':'integer','minimum':0,'maximum':150}},'required':['name'],'additionalProperties':false}",
        "{'type':'array','items':{'type':'string','enum':['a','b']},'minItems':1,'maxItems':3}",
        "{'anyOf':[{'type':'string','format':'date'},{'type':'null'}]}",
        "{'oneOf':[{'type':'string','format':'date-time'},{'type':'string','format':'uuid'},{'type':'string','format':'time'}]}",
        "{'$defs':{'point':{'type':'object','properties':{'x':{'type':'number'}}}},'type':'object','properties':{'p':{'$ref':'#/$defs/point'}}}",
        "{'definitions':{'n':{'type':'object','properties':{'next':{'$ref':'#/definitions/n'}}}},'$ref':'#/definitions/n'}",
        "{'type':['string','null'],'description':'optional text','maxLength':20,'minLength':1}",
        "{'const':'fixed'}",
        "{'enum':[1,'two',true,null]}",
        "{'type':'object','additionalProperties':{'type':'boolean'}}",
        "{'type':'integer','minimum':-5}",
        "{'type':'integer','maximum':99}",
        "{}",
    })
    void every_admitted_schema_converts_and_generates(String schema) {
        String body = ("{'model':'tiny','messages':[{'role':'user','content':'json please'}],'max_tokens':24,"
                + "'response_format':{'type':'json_schema','json_schema':{'name':'x','strict':true,'schema':" + schema + "}}}")
                .replace('\'', '"');

        assertThat(server.post("/v1/chat/completions", body).status()).isEqualTo(200);
    }

    @ParameterizedTest
    @ValueSource(strings = {"json_object", "text"})
    void the_simple_formats_generate(String type) {
        String body = "{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":24,"
                + "\"response_format\":{\"type\":\"" + type + "\"}}";

        assertThat(server.post("/v1/chat/completions", body).status()).isEqualTo(200);
    }
}
