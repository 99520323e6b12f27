package io.knllama.modelcache;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local stand-in for Hugging Face, on loopback only. Like the real one, the hub's resolve endpoint
 * ({@code /<org>/<repo>/resolve/<revision>/<path>}) answers with a 302 carrying {@code X-Linked-Etag}
 * (the sha256), {@code X-Linked-Size} and {@code X-Repo-Commit}, pointing at a pre-signed URL on a
 * separate "CDN" origin (another port) that serves the bytes with {@code Range} support.
 *
 * <p>Faults are queued and each used once: a status for the next resolve request, a body cut or a stall
 * after some bytes for the next CDN response. The CDN can also be throttled or made to ignore ranges.
 */
public final class FakeHuggingFace implements AutoCloseable {

    private static final Pattern RESOLVE = Pattern.compile("/([^/]+/[^/]+)/resolve/([^/]+)/(.+)");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    /** A request as the server saw it. */
    public record Request(String origin, String method, String path, String range, String authorization) {
    }

    private record Fault(int status, Map<String, String> headers, String body) {
    }

    private record File(byte[] content, String sha256, String announced) {
    }

    private final HttpServer hub;
    private final HttpServer cdn;
    private final Map<String, File> files = new ConcurrentHashMap<>();
    private final Map<String, File> blobs = new ConcurrentHashMap<>();
    private final Deque<Fault> hubFaults = new ArrayDeque<>();
    private final Deque<Fault> cdnFaults = new ArrayDeque<>();
    private final Deque<Duration> hubDelays = new ArrayDeque<>();
    private final Deque<Long> cuts = new ArrayDeque<>();
    private final Deque<Long> stalls = new ArrayDeque<>();
    private final Deque<Long> endless = new ArrayDeque<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private final AtomicLong bytesServed = new AtomicLong();
    private volatile String requiredToken;
    private volatile boolean gated;
    private volatile long bytesPerSecond;
    private volatile boolean ignoreRanges;

    private FakeHuggingFace() throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        hub = HttpServer.create(new InetSocketAddress(loopback, 0), 0);
        cdn = HttpServer.create(new InetSocketAddress(loopback, 0), 0);
        hub.createContext("/", exchange -> handle(exchange, "hub", this::resolve));
        cdn.createContext("/", exchange -> handle(exchange, "cdn", this::serveBlob));
        hub.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        cdn.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        hub.start();
        cdn.start();
    }

    public static FakeHuggingFace start() throws IOException {
        return new FakeHuggingFace();
    }

    /** The hub's base URL, what {@code HF_ENDPOINT} is set to. */
    public URI endpoint() {
        return URI.create("http://" + hub.getAddress().getHostString() + ":" + hub.getAddress().getPort());
    }

    /** A direct URL to the file's bytes on the CDN: a plain https:// source, with no digest announced. */
    public URI blobUrl(String repository, String revision, String path) {
        return URI.create(cdnBase() + "/blobs/" + file(repository, revision, path).sha256() + "?X-Amz-Signature=secret");
    }

    /** Serves {@code content} as {@code path} in {@code repository} at {@code revision}; the announced digest is the true one. */
    public FakeHuggingFace put(String repository, String revision, String path, byte[] content) {
        return put(repository, revision, path, content, sha256(content));
    }

    /** Serves {@code content}, announcing {@code announced} as its digest in {@code X-Linked-Etag}. */
    public FakeHuggingFace put(String repository, String revision, String path, byte[] content, String announced) {
        File file = new File(content.clone(), sha256(content), announced);
        files.put(repository + "@" + revision + "/" + path, file);
        blobs.put(file.sha256(), file);
        return this;
    }

    /** The next resolve request gets this status (and headers), instead of the redirect. */
    public synchronized FakeHuggingFace failNext(int status, Map<String, String> headers) {
        hubFaults.add(new Fault(status, headers, "{\"error\":\"fault injected by the test\"}"));
        return this;
    }

    /**
     * The next CDN request gets this status, headers and body instead of the file: what a redirect target
     * that is not a CDN (a cloud metadata endpoint, say) answers.
     */
    public synchronized FakeHuggingFace failNextBlob(int status, Map<String, String> headers, String body) {
        cdnFaults.add(new Fault(status, headers, body));
        return this;
    }

    /**
     * The next CDN response is chunked, without a length, and does not end with the file: it goes on with
     * {@code extra} more bytes (a stand-in for "forever" that a broken client still gets through).
     */
    public synchronized FakeHuggingFace endlessNextBody(long extra) {
        endless.add(extra);
        return this;
    }

    /** The next resolve request is answered only after {@code delay}, as an overloaded hub does. */
    public synchronized FakeHuggingFace delayNext(Duration delay) {
        hubDelays.add(delay);
        return this;
    }

    /** The next CDN response announces the whole length but closes the connection after {@code bytes}. */
    public synchronized FakeHuggingFace cutNextBodyAfter(long bytes) {
        cuts.add(bytes);
        return this;
    }

    /** The next CDN response sends {@code bytes}, then nothing more until the client gives up. */
    public synchronized FakeHuggingFace stallNextBodyAfter(long bytes) {
        stalls.add(bytes);
        return this;
    }

    /** Requests without {@code Authorization: Bearer <token>} get 401, like a private repository. */
    public FakeHuggingFace requireToken(String token) {
        this.requiredToken = token;
        return this;
    }

    /** Requests with the right token get 403, like a gated repository whose terms were not accepted. */
    public FakeHuggingFace gate() {
        this.gated = true;
        return this;
    }

    public FakeHuggingFace throttle(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
        return this;
    }

    /** The CDN answers range requests with the whole file, as some servers do. */
    public FakeHuggingFace ignoreRanges() {
        this.ignoreRanges = true;
        return this;
    }

    public List<Request> requests() {
        return List.copyOf(requests);
    }

    public List<Request> requests(String origin) {
        return requests.stream().filter(r -> r.origin().equals(origin)).toList();
    }

    /** CDN responses that started at byte 0: how many times the file was downloaded from the start. */
    public long fullDownloads() {
        return requests("cdn").stream().filter(r -> r.range() == null || r.range().equals("bytes=0-")).count();
    }

    public long bytesServed() {
        return bytesServed.get();
    }

    @Override
    public void close() {
        hub.stop(0);
        cdn.stop(0);
    }

    public static String sha256(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private interface Handler {
        void handle(HttpExchange exchange) throws IOException;
    }

    private void handle(HttpExchange exchange, String origin, Handler handler) {
        Headers headers = exchange.getRequestHeaders();
        requests.add(new Request(origin, exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                headers.getFirst("Range"), headers.getFirst("Authorization")));
        try (exchange) {
            handler.handle(exchange);
        } catch (IOException e) {
            // The client went away or the test cut the connection on purpose.
        }
    }

    private void resolve(HttpExchange exchange) throws IOException {
        Fault fault;
        Duration delay;
        synchronized (this) {
            fault = hubFaults.poll();
            delay = hubDelays.poll();
        }
        if (delay != null) {
            sleep(delay);
        }
        if (fault != null) {
            fault.headers().forEach(exchange.getResponseHeaders()::set);
            sendText(exchange, fault.status(), fault.body());
            return;
        }
        Matcher matcher = RESOLVE.matcher(exchange.getRequestURI().getRawPath());
        String authorization = exchange.getRequestHeaders().getFirst("Authorization");
        if (requiredToken != null && !("Bearer " + requiredToken).equals(authorization)) {
            exchange.getResponseHeaders().set("X-Error-Code", "GatedRepo");
            exchange.getResponseHeaders().set("X-Error-Message", authorization == null
                    ? "Access to this model is restricted. You must be authenticated to access it." : "Invalid credentials in Authorization header");
            sendText(exchange, 401, "");
            return;
        }
        if (gated) {
            exchange.getResponseHeaders().set("X-Error-Code", "GatedRepo");
            exchange.getResponseHeaders().set("X-Error-Message", "Access to this model is restricted and you are not in the authorized list.");
            sendText(exchange, 403, "");
            return;
        }
        File file = matcher.matches()
                ? files.get(matcher.group(1) + "@" + decode(matcher.group(2)) + "/" + decode(matcher.group(3))) : null;
        if (file == null) {
            exchange.getResponseHeaders().set("X-Error-Code", "EntryNotFound");
            exchange.getResponseHeaders().set("X-Error-Message", "Entry not found");
            sendText(exchange, 404, "");
            return;
        }
        Headers response = exchange.getResponseHeaders();
        response.set("Location", cdnBase() + "/blobs/" + file.sha256() + "?X-Amz-Signature=secret");
        response.set("X-Linked-Etag", "\"" + file.announced() + "\"");
        response.set("X-Linked-Size", Long.toString(file.content().length));
        response.set("X-Repo-Commit", "0123456789abcdef0123456789abcdef01234567");
        response.set("ETag", "\"" + file.announced() + "\"");
        exchange.sendResponseHeaders(302, -1);
    }

    private void serveBlob(HttpExchange exchange) throws IOException {
        Fault fault;
        Long extra;
        synchronized (this) {
            fault = cdnFaults.poll();
            extra = endless.poll();
        }
        if (fault != null) {
            fault.headers().forEach(exchange.getResponseHeaders()::set);
            sendText(exchange, fault.status(), fault.body());
            return;
        }
        String path = exchange.getRequestURI().getRawPath();
        File file = path.startsWith("/blobs/") ? blobs.get(path.substring("/blobs/".length())) : null;
        if (file == null) {
            sendText(exchange, 404, "NoSuchKey");
            return;
        }
        byte[] content = file.content();
        String etag = "\"blob-" + file.sha256().substring(0, 16) + "\"";
        long start = 0;
        Matcher range = RANGE.matcher(String.valueOf(exchange.getRequestHeaders().getFirst("Range")));
        String ifRange = exchange.getRequestHeaders().getFirst("If-Range");
        Headers headers = exchange.getResponseHeaders();
        headers.set("ETag", etag);
        headers.set("Accept-Ranges", "bytes");
        if (extra != null) {
            exchange.sendResponseHeaders(200, 0); // chunked
            OutputStream body = exchange.getResponseBody();
            write(body, content, 0, content.length);
            byte[] more = new byte[64 * 1024];
            for (long sent = 0; sent < extra; sent += more.length) {
                body.write(more);
                bytesServed.addAndGet(more.length);
            }
            body.close();
            return;
        }
        if (range.matches() && !ignoreRanges && (ifRange == null || ifRange.equals(etag))) {
            start = Long.parseLong(range.group(1));
            if (start >= content.length) {
                headers.set("Content-Range", "bytes */" + content.length);
                exchange.sendResponseHeaders(416, -1);
                return;
            }
            headers.set("Content-Range", "bytes %d-%d/%d".formatted(start, content.length - 1, content.length));
            exchange.sendResponseHeaders(206, content.length - start);
        } else {
            exchange.sendResponseHeaders(200, content.length);
        }
        Long cut;
        Long stall;
        synchronized (this) {
            cut = cuts.poll();
            stall = stalls.poll();
        }
        long end = content.length;
        if (cut != null) {
            end = Math.min(end, start + cut);
        }
        if (stall != null) {
            end = Math.min(end, start + stall);
        }
        OutputStream body = exchange.getResponseBody();
        write(body, content, (int) start, (int) end);
        body.flush();
        if (stall != null) {
            sleep(Duration.ofSeconds(30)); // until the client's stall timeout drops the connection
        }
        if (end < content.length) {
            // Closing a fixed-length body short of its length makes the server drop the connection mid-body.
            exchange.close();
        }
    }

    private void write(OutputStream body, byte[] content, int from, int to) throws IOException {
        int chunk = 16 * 1024;
        long started = System.nanoTime();
        for (int at = from; at < to; at += chunk) {
            int length = Math.min(chunk, to - at);
            body.write(content, at, length);
            bytesServed.addAndGet(length);
            long rate = bytesPerSecond;
            if (rate > 0) {
                long due = started + (long) ((at + length - from) * 1e9 / rate);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    body.flush();
                    sleep(Duration.ofNanos(wait));
                }
            }
        }
    }

    private String cdnBase() {
        return "http://" + cdn.getAddress().getHostString() + ":" + cdn.getAddress().getPort();
    }

    private File file(String repository, String revision, String path) {
        File file = files.get(repository + "@" + revision + "/" + path);
        if (file == null) {
            throw new IllegalArgumentException("no such file: " + repository + "@" + revision + "/" + path);
        }
        return file;
    }

    private static void sendText(HttpExchange exchange, int status, String text) throws IOException {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            exchange.getResponseBody().write(body);
        }
    }

    private static String decode(String segment) {
        return java.net.URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
