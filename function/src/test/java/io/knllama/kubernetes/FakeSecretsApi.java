package io.knllama.kubernetes;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
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

    private final HttpServer server;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<String> credentials = new CopyOnWriteArrayList<>();
    private final BlockingQueue<String> events = new LinkedBlockingQueue<>();
    private final String namespace;
    private final String name;
    private volatile String key;
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
        events.add("{\"type\":\"" + type + "\",\"object\":" + secret(newKey, resourceVersion) + "}\n");
    }

    /** The Authorization header of every request (empty when there was none). */
    List<String> credentials() {
        return credentials;
    }

    boolean watched() {
        return requests.stream().anyMatch(r -> r.contains("watch=true"));
    }

    private String secret(String value, int resourceVersion) {
        String data = value == null ? "{}" : "{\"KNLLAMA_API_KEY\":\""
                + Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8)) + "\"}";
        return "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"" + name + "\",\"namespace\":\""
                + namespace + "\",\"resourceVersion\":\"" + resourceVersion + "\"},\"type\":\"Opaque\",\"data\":" + data + "}";
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
        byte[] body = (listStatus == 200
                ? "{\"apiVersion\":\"v1\",\"kind\":\"SecretList\",\"metadata\":{\"resourceVersion\":\"1\"},\"items\":["
                        + secret(key, 1) + "]}"
                : "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\",\"code\":" + listStatus + "}")
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
