package io.knllama.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A streamed request read event by event; closing it early is a client disconnect. No read waits forever:
 * the request's timeout bounds the whole stream (the JDK client's own timeout ends at the headers), and a
 * raw one's socket reads time out.
 */
final class Sse implements AutoCloseable {

    /** HTTP/1.1: the function serves no HTTP/2, and a proxy in front (queue-proxy) would upgrade an h2c request. */
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** How long a raw stream's socket read may wait for the next bytes. */
    private static final Duration RAW_READ_TIMEOUT = Duration.ofSeconds(60);
    /** Ends streams that outlive their request's timeout: closing the body wakes a blocked read. */
    private static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(task -> {
        Thread thread = new Thread(task, "sse-deadline");
        thread.setDaemon(true);
        return thread;
    });

    private final HttpResponse<InputStream> response;
    private final BufferedReader reader;
    private final Duration timeout;
    private final ScheduledFuture<?> deadline;
    private volatile boolean expired;

    private Sse(HttpResponse<InputStream> response, Duration timeout) {
        this.response = response;
        this.reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
        this.timeout = timeout;
        this.deadline = DEADLINES.schedule(this::expire, timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void expire() {
        expired = true;
        try {
            response.body().close();
        } catch (IOException ignored) {
            // the reader sees the end of the stream, and next() says why
        }
    }

    static Sse open(URI uri, String body, Duration timeout) {
        try {
            return new Sse(HTTP.send(HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                    .timeout(timeout).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofInputStream()), timeout);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * A streamed request on a plain socket, read up to its first event and left open (QueueProxyIT holds
     * queue-proxy's slots with these); closing the socket resets the connection at once, an unambiguous client disconnect (a JDK HttpClient whose
     * body stream is closed early may keep the connection open). A read that waits longer than
     * {@link #RAW_READ_TIMEOUT} throws {@link java.net.SocketTimeoutException}.
     */
    static java.net.Socket openRaw(URI uri, String body) throws IOException {
        java.net.Socket socket = new java.net.Socket();
        socket.connect(new java.net.InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
        socket.setSoTimeout((int) RAW_READ_TIMEOUT.toMillis());
        socket.setSoLinger(true, 0);
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + uri.getPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
                + "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n";
        socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().write(bytes);
        socket.getOutputStream().flush();
        BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = reader.readLine()) != null && !line.startsWith("data:")) {
            // status line and headers
        }
        if (line == null) {
            socket.close();
            throw new IOException("the stream ended before its first event");
        }
        return socket;
    }

    static String chat(String content, int maxTokens) {
        return """
                {"model":"%s","messages":[{"role":"user","content":"%s"}],"max_tokens":%d,"stream":true}"""
                .formatted(FunctionProcess.MODEL_ID, content, maxTokens);
    }

    int status() {
        return response.statusCode();
    }

    String header(String name) {
        return response.headers().firstValue(name).orElse(null);
    }

    /** The next event's data, or {@code null} at the end. For an error status, the whole body. */
    String next() throws IOException {
        String line;
        while ((line = readLine()) != null) {
            if (status() != 200) {
                return line;
            }
            if (line.startsWith("data:")) {
                return line.substring(5).strip();
            }
        }
        return null;
    }

    private String readLine() throws IOException {
        try {
            String line = reader.readLine();
            if (expired) {
                throw new IOException("the stream did not end within its timeout, " + timeout);
            }
            return line;
        } catch (IOException e) {
            if (expired) {
                throw new IOException("the stream did not end within its timeout, " + timeout, e);
            }
            throw e;
        }
    }

    /** Reads to the end; returns the last event's data. */
    String drain() throws IOException {
        String last = null;
        String event;
        while ((event = next()) != null) {
            last = event;
        }
        return last;
    }

    @Override
    public void close() throws IOException {
        deadline.cancel(false);
        response.body().close();
    }
}
