package io.knllama.kubernetes;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The part of the Kubernetes API that a Secret's informer talks to, over plain HTTP: {@code list} answers one Secret
 * (or a fixed error status), {@code watch} streams the events a test sends, one JSON object per line, as the API
 * server does.
 */
final class FakeSecretsApi implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<String> credentials = new CopyOnWriteArrayList<>();
    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final String namespace;
    private final String name;
    private final String key;
    private volatile int listStatus = 200;

    FakeSecretsApi(String namespace, String name, String key) throws IOException {
        this.namespace = namespace;
        this.name = name;
        this.key = key;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool(Thread.ofPlatform().daemon().factory()));
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Every request so far, as path and decoded query. */
    List<String> requests() {
        return requests;
    }

    /** Lists answer this status from now on (200: the Secret). */
    void listAnswers(int status) {
        this.listStatus = status;
    }

    /** Sends a watch event for the Secret holding {@code newKey} (null: without the entry) at {@code resourceVersion}. */
    void emit(String type, String newKey, int resourceVersion) {
        events.add(json(Map.of("type", type, "object", secretObject(newKey, resourceVersion))) + "\n");
    }

    /** The Authorization header of every request (empty when there was none). */
    List<String> credentials() {
        return credentials;
    }

    boolean watched() {
        return requests.stream().anyMatch(r -> r.contains("watch=true"));
    }

    private Map<String, Object> secretObject(String value, int resourceVersion) {
        return Map.of("apiVersion", "v1", "kind", "Secret", "type", "Opaque",
                "metadata", Map.of("name", name, "namespace", namespace, "resourceVersion", String.valueOf(resourceVersion)),
                "data", value == null ? Map.of()
                        : Map.of("KNLLAMA_API_KEY", Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8))));
    }

    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        String query = exchange.getRequestURI().getRawQuery();
        credentials.add(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
        requests.add(exchange.getRequestURI().getPath() + "?" + (query == null ? "" : URLDecoder.decode(query, StandardCharsets.UTF_8)));
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        if (query != null && query.contains("watch=true")) {
            exchange.sendResponseHeaders(200, 0);
            try (OutputStream body = exchange.getResponseBody()) {
                while (!Thread.currentThread().isInterrupted()) {
                    String event = events.poll(100, TimeUnit.MILLISECONDS);
                    if (event != null) {
                        body.write(event.getBytes(StandardCharsets.UTF_8));
                        body.flush();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return;
        }
        byte[] body = json(listStatus == 200
                ? Map.of("apiVersion", "v1", "kind", "SecretList", "metadata", Map.of("resourceVersion", "1"),
                        "items", List.of(secretObject(key, 1)))
                : Map.of("apiVersion", "v1", "kind", "Status", "status", "Failure", "code", listStatus))
                .getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(listStatus, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
