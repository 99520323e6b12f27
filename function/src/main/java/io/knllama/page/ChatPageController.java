package io.knllama.page;

import io.micronaut.core.io.ResourceResolver;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;
import io.swagger.v3.oas.annotations.Hidden;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The chat page at {@code GET /}. A route of its own rather than a static mapping of {@code /**}, so that it
 * cannot shadow an API route, and {@code POST /} stays the CloudEvents endpoint. Its script and style are
 * static resources under {@code /chat/}.
 */
@Controller
final class ChatPageController {

    private final byte[] page;

    ChatPageController(ResourceResolver resources) {
        try (InputStream in = resources.getResourceAsStream("classpath:chat/index.html")
                .orElseThrow(() -> new IllegalStateException("chat/index.html is missing from the jar"))) {
            page = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Hidden
    @Get
    @Produces(MediaType.TEXT_HTML + ";charset=utf-8")
    byte[] page() {
        return page;
    }
}
