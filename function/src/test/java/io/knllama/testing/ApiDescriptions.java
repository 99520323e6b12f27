package io.knllama.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the function says about its requests outside the code: the OpenAPI description micronaut-openapi
 * generates at compile time, and the parameter lists in the README tables. Tests hold both to the parsers.
 */
public final class ApiDescriptions {

    private static final Pattern CODE = Pattern.compile("`([^`]+)`");
    private static final JsonNode OPENAPI = load();

    private ApiDescriptions() {
    }

    private static JsonNode load() {
        try (InputStream yaml = ApiDescriptions.class.getResourceAsStream("/META-INF/swagger/knllama.yml")) {
            if (yaml == null) {
                throw new IllegalStateException("no META-INF/swagger/knllama.yml on the classpath: micronaut-openapi did not run");
            }
            return new YAMLMapper().readTree(yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The property names of one schema in the OpenAPI description. */
    public static Set<String> properties(String schema) {
        JsonNode properties = OPENAPI.path("components").path("schemas").path(schema).path("properties");
        if (properties.isMissingNode()) {
            throw new AssertionError("the OpenAPI description has no schema " + schema);
        }
        Set<String> names = new TreeSet<>();
        properties.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** The declared type of one property ({@code boolean}, {@code string}, {@code object}, ...). */
    public static String type(String schema, String property) {
        JsonNode node = OPENAPI.path("components").path("schemas").path(schema).path("properties").path(property);
        return node.path("type").asText(node.has("$ref") ? "object" : "");
    }

    /**
     * The names in backticks in the table row of a Markdown file that starts with {@code rowStart} (the route
     * cell), after that cell; a dotted name ({@code stream_options.include_usage}) counts as its first part.
     */
    public static Set<String> namesInRow(Path markdown, String rowStart) {
        String row = lines(markdown).stream().filter(line -> line.startsWith(rowStart)).findFirst()
                .orElseThrow(() -> new AssertionError(markdown + " has no row starting " + rowStart));
        return names(row.substring(rowStart.length()));
    }

    /** The names in backticks in the paragraph of a Markdown file that starts with {@code start}. */
    public static Set<String> namesInParagraph(Path markdown, String start) {
        String text = String.join("\n", lines(markdown));
        int from = text.indexOf(start);
        if (from < 0) {
            throw new AssertionError(markdown + " has no paragraph starting " + start);
        }
        int to = text.indexOf("\n\n", from);
        return names(text.substring(from + start.length(), to < 0 ? text.length() : to));
    }

    private static Set<String> names(String text) {
        Set<String> names = new TreeSet<>();
        Matcher code = CODE.matcher(text);
        while (code.find()) {
            names.add(code.group(1).split("\\.")[0]);
        }
        return names;
    }

    private static java.util.List<String> lines(Path markdown) {
        try {
            return Files.readAllLines(markdown);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
