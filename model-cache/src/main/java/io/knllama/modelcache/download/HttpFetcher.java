package io.knllama.modelcache.download;

import io.knllama.modelcache.failure.IntegrityException;
import io.knllama.modelcache.failure.SourceException;
import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.failure.UnavailableException;
import io.knllama.modelcache.log.Log;
import io.knllama.modelcache.log.Progress;
import io.knllama.modelcache.source.Location;
import io.knllama.modelcache.verify.Sha256;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Downloads one HTTP(S) resource into a {@link PartialFile}, the way Hugging Face serves models:
 *
 * <ul>
 *   <li>Redirects are followed by hand, not by the client, to read Hugging Face's {@code X-Linked-Etag}
 *       (the LFS file's sha256) and {@code X-Linked-Size} on the resolve endpoint's redirect, and to send
 *       the token to the first origin only, never to the CDN a redirect leads to.</li>
 *   <li>A connection that drops or stalls mid-body is resumed with {@code Range} (and {@code If-Range},
 *       so a file that changed meanwhile is fetched whole rather than stitched). A server that ignores
 *       the range gets the download restarted from zero.</li>
 *   <li>Timeouts, 408, 429 and 5xx are retried per {@link RetryPolicy}, honouring {@code Retry-After}.
 *       401, 403 and 404 fail at once with a message that says what to fix.</li>
 *   <li>Free space and {@link DownloadPolicy#maxBytes()} are checked against the announced size before the
 *       body is read, and the body is cut off at that size (or at the maximum, when none is announced):
 *       a body that never ends cannot fill the volume.</li>
 *   <li>Redirects lead only to http(s) URLs; messages name statuses and URLs without their queries and
 *       never quote a response body (see {@link Refusals}).</li>
 * </ul>
 *
 * <p>One thread per download; the instance itself holds no per-download state and may be reused.
 */
public final class HttpFetcher {

    private static final String USER_AGENT = "knllama-model-cache/1";
    private static final int CHUNK_BYTES = 1 << 20;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern UNSATISFIED_RANGE = Pattern.compile("bytes\\s+\\*/(\\d+)");

    private final Supplier<HttpClient> client;
    private final DownloadPolicy policy;
    private final DiskSpace disk;
    private final Sleeper sleeper;
    private final Log log;
    private final LongSupplier nanoTime;
    private final Clock clock;
    private final DoubleSupplier random;

    public HttpFetcher(DownloadPolicy policy, DiskSpace disk, Sleeper sleeper, Log log) {
        this(lazy(() -> newClient(policy)), policy, disk, sleeper, log, System::nanoTime, Clock.systemUTC(),
                () -> ThreadLocalRandom.current().nextDouble());
    }

    HttpFetcher(Supplier<HttpClient> client, DownloadPolicy policy, DiskSpace disk, Sleeper sleeper, Log log,
                LongSupplier nanoTime, Clock clock, DoubleSupplier random) {
        this.client = client;
        this.policy = policy;
        this.disk = disk;
        this.sleeper = sleeper;
        this.log = log;
        this.nanoTime = nanoTime;
        this.clock = clock;
        this.random = random;
    }

    /**
     * Creating a client loads the JDK's TLS stack and trust store, a few hundred milliseconds that a
     * start finding the model already present should not pay.
     */
    private static Supplier<HttpClient> lazy(Supplier<HttpClient> factory) {
        return new Supplier<>() {
            private HttpClient client;

            @Override
            public synchronized HttpClient get() {
                if (client == null) {
                    client = factory.get();
                }
                return client;
            }
        };
    }

    /**
     * HTTP/1.1: one large sequential transfer gains nothing from HTTP/2, and a plain-http mirror is not
     * probed with an h2c upgrade.
     */
    private static HttpClient newClient(DownloadPolicy policy) {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(policy.connectTimeout())
                .build();
    }

    /**
     * Downloads {@code location} into {@code target}, which may already hold a prefix of it.
     *
     * @param pinned the digest the file must have, if configured: a source that announces another one
     *               fails before any byte is downloaded
     * @param label  how messages name the source, e.g. {@code hf://org/repo/model.gguf@main}
     * @param name   how progress lines name the file, e.g. {@code model.gguf}
     * @return the completed download; its digest is not compared with anything yet
     */
    public Download fetch(Location.Http location, PartialFile target, Optional<Sha256> pinned, String label, String name)
            throws SourceException, UnavailableException, IntegrityException, StorageException, InterruptedException {
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "model-cache-stall-watchdog");
            thread.setDaemon(true);
            return thread;
        });
        try {
            return new Transfer(location, target, pinned, label, name, watchdog).run();
        } finally {
            watchdog.shutdownNow();
        }
    }

    /** A failure worth another attempt. */
    private static final class Retry extends Exception {
        final Optional<Duration> retryAfter;

        Retry(String reason, Optional<Duration> retryAfter) {
            super(reason, null, false, false);
            this.retryAfter = retryAfter;
        }

        Retry(String reason) {
            this(reason, Optional.empty());
        }
    }

    /** The response a request chain ended with, and what its redirects said on the way. */
    private record Exchange(URI uri, int status, HttpHeaders headers, InputStream body,
                            Optional<Sha256> advertised, OptionalLong advertisedSize) {
    }

    /** The state of one download across its attempts. */
    private final class Transfer {
        private final Location.Http location;
        private final PartialFile target;
        private final Optional<Sha256> pinned;
        private final String label;
        private final String name;
        private final ScheduledExecutorService watchdog;
        /** What the first response said the file is; a later one that disagrees means it changed. */
        private Optional<Sha256> advertised = Optional.empty();
        private Optional<String> validator = Optional.empty();
        /** Checked once, from X-Linked-Size before the redirect or from the first body's length. */
        private boolean spaceChecked;
        private boolean commitLogged;
        private Progress progress;

        Transfer(Location.Http location, PartialFile target, Optional<Sha256> pinned, String label, String name,
                 ScheduledExecutorService watchdog) {
            this.location = location;
            this.target = target;
            this.pinned = pinned;
            this.label = label;
            this.name = name;
            this.watchdog = watchdog;
        }

        Download run() throws SourceException, UnavailableException, IntegrityException, StorageException, InterruptedException {
            int failures = 0;
            while (true) {
                long before = target.length();
                try {
                    return attempt();
                } catch (Retry retry) {
                    failures = target.length() > before ? 1 : failures + 1;
                    int attempts = policy.retry().maxAttempts();
                    if (failures >= attempts) {
                        throw new UnavailableException(("could not download %s: %s (%d attempts without progress). "
                                + "Check that %s is reachable from the pod (egress, proxy, DNS) and not rate-limiting it; "
                                + "the next pod start resumes nothing, so a retry downloads from zero.")
                                .formatted(label, retry.getMessage(), failures, location.uri().getHost()));
                    }
                    Duration delay = policy.retry().delay(failures, retry.retryAfter, random);
                    log.warn("%s: %s; retrying in %s (%d of %d attempts without progress used)"
                            .formatted(label, retry.getMessage(), format(delay), failures, attempts));
                    sleeper.sleep(delay);
                }
            }
        }

        private Download attempt() throws Retry, SourceException, IntegrityException, StorageException {
            long offset = target.length();
            Exchange exchange = open(offset);
            try (InputStream body = exchange.body()) {
                checkIdentity(exchange);
                long total = switch (exchange.status()) {
                    case 206 -> partialContent(exchange, offset);
                    case 416 -> {
                        // A resumed download that already had every byte: the last attempt died at the very end.
                        OptionalLong size = unsatisfiedRangeSize(exchange.headers());
                        if (offset > 0 && size.isPresent() && size.getAsLong() == offset) {
                            yield offset;
                        }
                        restart("the server cannot serve the rest from byte " + offset);
                        throw new Retry("HTTP 416 Range Not Satisfiable");
                    }
                    default -> {
                        if (offset > 0) {
                            restart("the server sent the whole file instead of the rest");
                        }
                        yield exchange.headers().firstValueAsLong("content-length").orElse(-1);
                    }
                };
                if (total < 0) {
                    total = exchange.advertisedSize().orElse(-1);
                }
                checkMaxSize(total);
                if (progress == null) { // the first response with a body: the download starts
                    checkSpace(total);
                    String from = redacted(exchange.uri()).equals(label) ? "" : " from " + redacted(exchange.uri());
                    log.info("downloading %s%s (%s%s)".formatted(label, from,
                            total >= 0 ? Progress.megabytes(total) : "size unknown",
                            advertised.map(sha -> ", announced " + sha).orElse("")));
                    progress = Progress.start(log, "downloading " + name, target.length(), total, nanoTime);
                }
                if (exchange.status() != 416) {
                    copy(body, total);
                }
                if (total >= 0 && target.length() != total) {
                    throw new Retry("the connection closed after %s of %s".formatted(
                            Progress.megabytes(target.length()), Progress.megabytes(total)));
                }
            } catch (IOException closing) {
                // Closing a body that failed mid-way can fail too; what was read is already written.
            }
            progress.finish(target.length(), "downloaded");
            return new Download(target.length(), target.sha256(), advertised);
        }

        /** Sends the request and follows redirects to the response that carries the file (or an error). */
        private Exchange open(long offset) throws Retry, SourceException, IntegrityException, StorageException {
            URI uri = location.uri();
            Optional<Sha256> linkedSha = Optional.empty();
            OptionalLong linkedSize = OptionalLong.empty();
            for (int hop = 0; ; hop++) {
                HttpResponse<InputStream> response = send(request(uri, offset));
                HttpHeaders headers = response.headers();
                Optional<Sha256> sha = headers.firstValue("x-linked-etag").flatMap(Sha256::fromEntityTag);
                if (sha.isPresent()) {
                    linkedSha = sha;
                }
                OptionalLong size = headers.firstValueAsLong("x-linked-size");
                if (size.isPresent()) {
                    linkedSize = size;
                }
                Optional<String> commit = headers.firstValue("x-repo-commit");
                if (commit.isPresent() && !commitLogged) {
                    commitLogged = true;
                    log.info("%s is commit %s".formatted(label, commit.get()));
                }
                try {
                    // Hugging Face announces digest and size on the redirect: refuse before the CDN sends a byte.
                    checkPin(linkedSha);
                    if (linkedSize.isPresent()) {
                        checkMaxSize(linkedSize.getAsLong());
                        checkSpace(linkedSize.getAsLong());
                    }
                } catch (IntegrityException | SourceException | StorageException e) {
                    close(response);
                    throw e;
                }
                int status = response.statusCode();
                if (status == 200 || status == 206 || status == 416) {
                    return new Exchange(uri, status, headers, response.body(), linkedSha, linkedSize);
                }
                if (isRedirect(status)) {
                    close(response);
                    URI answered = uri;
                    String next = headers.firstValue("location").orElseThrow(() -> new SourceException(
                            "%s answered %d without a Location header: the server or mirror is misconfigured".formatted(redacted(answered), status)));
                    if (hop >= policy.maxRedirects()) {
                        throw new SourceException("%s redirected more than %d times (last to %s): the server or mirror is misconfigured"
                                .formatted(redacted(location.uri()), policy.maxRedirects(), redacted(uri)));
                    }
                    URI target;
                    try {
                        target = uri.resolve(URI.create(next));
                    } catch (IllegalArgumentException e) {
                        throw new SourceException("%s redirected to an invalid URL: %s".formatted(redacted(uri), e.getMessage()), e);
                    }
                    if (!isHttp(target)) {
                        throw new SourceException(("%s redirected to %s: model-cache follows redirects only to http:// and "
                                + "https:// URLs. The source, or a mirror or proxy in front of it, is misconfigured or is trying "
                                + "to make model-cache read something other than the model; nothing was downloaded.")
                                .formatted(redacted(uri), redacted(target)));
                    }
                    uri = target;
                    continue;
                }
                String detail = Refusals.detail(response, location);
                if (status == 408 || status == 429 || status >= 500) {
                    Optional<Duration> retryAfter = RetryPolicy.parseRetryAfter(headers.firstValue("retry-after").orElse(null), clock.instant());
                    throw new Retry("HTTP " + status + " from " + uri.getHost() + detail, retryAfter);
                }
                throw Refusals.of(status, detail, location, uri, label);
            }
        }

        private HttpRequest request(URI uri, long offset) {
            HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET()
                    .timeout(policy.responseTimeout())
                    .header("User-Agent", USER_AGENT);
            if (offset > 0) {
                request.header("Range", "bytes=" + offset + "-");
                validator.ifPresent(value -> request.header("If-Range", value));
            }
            location.tokenFor(uri).ifPresent(token -> request.header("Authorization", token.header()));
            return request.build();
        }

        private HttpResponse<InputStream> send(HttpRequest request) throws Retry, SourceException {
            String host = request.uri().getHost();
            try {
                return client.get().send(request, HttpResponse.BodyHandlers.ofInputStream());
            } catch (SSLException e) {
                // Retrying does not fix a certificate; an intercepting proxy's CA must be trusted by the JVM.
                throw new SourceException(("TLS with %s failed: %s. If a proxy intercepts TLS, add its CA certificate "
                        + "to the JVM's trust store (-Djavax.net.ssl.trustStore via JAVA_TOOL_OPTIONS).").formatted(host, e.getMessage()), e);
            } catch (HttpConnectTimeoutException e) {
                throw new Retry("no connection to " + host + " within " + format(policy.connectTimeout()));
            } catch (HttpTimeoutException e) {
                throw new Retry("no response from " + host + " within " + format(policy.responseTimeout()));
            } catch (ConnectException e) {
                throw new Retry("cannot connect to " + host + " (" + e.getMessage() + ")");
            } catch (IOException e) {
                throw new Retry("request to " + host + " failed (" + e + ")");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Retry("interrupted");
            }
        }

        private void checkPin(Optional<Sha256> announced) throws IntegrityException {
            if (announced.isPresent() && pinned.isPresent() && !announced.get().equals(pinned.get())) {
                throw new IntegrityException(("%s is %s according to %s, but KNLLAMA_MODEL_SHA256 pins %s: the file "
                        + "changed upstream or the pin is wrong. Pin a revision (a commit) that has the file you tested, "
                        + "or update KNLLAMA_MODEL_SHA256. Nothing was downloaded.")
                        .formatted(label, announced.get(), location.uri().getHost(), pinned.get()));
            }
        }

        /** Announced and previously announced digests must agree: a change means the file changed upstream. */
        private void checkIdentity(Exchange exchange) throws Retry, StorageException {
            Optional<Sha256> now = exchange.advertised();
            if (now.isPresent() && advertised.isPresent() && !now.equals(advertised)) {
                restart("the file changed upstream during the download (%s, was %s)".formatted(now.get(), advertised.get()));
                advertised = now;
                throw new Retry("the file changed upstream");
            }
            if (advertised.isEmpty()) {
                advertised = now;
            }
            if (validator.isEmpty()) {
                validator = exchange.headers().firstValue("etag").filter(tag -> !tag.startsWith("W/"))
                        .or(() -> exchange.headers().firstValue("last-modified"));
            }
        }

        private long partialContent(Exchange exchange, long offset) throws Retry, StorageException {
            Matcher range = CONTENT_RANGE.matcher(exchange.headers().firstValue("content-range").orElse(""));
            if (!range.matches() || Long.parseLong(range.group(1)) != offset) {
                restart("the server answered the range request with another range");
                throw new Retry("unexpected Content-Range '" + exchange.headers().firstValue("content-range").orElse("") + "'");
            }
            return range.group(3).equals("*") ? -1 : Long.parseLong(range.group(3));
        }

        private OptionalLong unsatisfiedRangeSize(HttpHeaders headers) {
            Matcher range = UNSATISFIED_RANGE.matcher(headers.firstValue("content-range").orElse(""));
            return range.matches() ? OptionalLong.of(Long.parseLong(range.group(1))) : OptionalLong.empty();
        }

        private void restart(String why) throws StorageException {
            if (target.length() > 0) {
                log.warn("%s: %s; starting over from byte 0".formatted(label, why));
            }
            try {
                target.restart();
            } catch (IOException e) {
                throw new StorageException("cannot truncate %s: %s".formatted(target.path(), e), e);
            }
        }

        private void checkMaxSize(long total) throws SourceException {
            if (total > policy.maxBytes()) {
                throw new SourceException(("%s is %s, more than KNLLAMA_MODEL_MAX_SIZE (%s): nothing was downloaded. Check "
                        + "that the source names the model file; if it does, raise KNLLAMA_MODEL_MAX_SIZE.")
                        .formatted(label, Progress.megabytes(total), Progress.megabytes(policy.maxBytes())));
            }
        }

        /** The body went past {@code limit}: the size it announced, or the maximum when it announced none. */
        private void tooLong(long announced) throws IntegrityException, SourceException {
            if (announced >= 0) {
                throw new IntegrityException(("%s sent more than the %s it announced: the download was stopped there and "
                        + "nothing was published. The server, or a proxy in front of it, is broken or hostile.")
                        .formatted(label, Progress.megabytes(announced)));
            }
            throw new SourceException(("%s sent more than %s without announcing its size: the download was stopped there "
                    + "(KNLLAMA_MODEL_MAX_SIZE) and nothing was published. Check that the source names the model file; if "
                    + "the model really is larger, raise KNLLAMA_MODEL_MAX_SIZE.")
                    .formatted(label, Progress.megabytes(policy.maxBytes())));
        }

        private void checkSpace(long total) throws StorageException {
            if (total < 0 || spaceChecked) {
                return;
            }
            spaceChecked = true;
            long needed = total - target.length();
            try {
                long usable = disk.usableBytes(target.path().getParent());
                if (usable < needed) {
                    throw new StorageException(("%s needs %s but the volume at %s has %s free: enlarge the "
                            + "PersistentVolumeClaim or remove unused models from it. Nothing was downloaded.")
                            .formatted(label, Progress.megabytes(needed), target.path().getParent(), Progress.megabytes(usable)));
                }
            } catch (IOException e) {
                log.warn("cannot tell the free space on %s (%s); downloading anyway".formatted(target.path().getParent(), e));
            }
        }

        /**
         * Streams the body into the target, never past {@code announced} bytes in all (or the policy's maximum
         * when the size is unknown, -1). A watchdog closes the stream if no byte arrives for the stall timeout
         * (the client's own timeout covers only the wait for headers); bytes that did arrive are kept.
         */
        private void copy(InputStream body, long announced)
                throws Retry, StorageException, IntegrityException, SourceException {
            long limit = announced >= 0 ? announced : policy.maxBytes();
            byte[] chunk = new byte[CHUNK_BYTES];
            int filled = 0;
            AtomicLong lastByteAt = new AtomicLong(nanoTime.getAsLong());
            AtomicBoolean stalled = new AtomicBoolean();
            long stallNanos = policy.stallTimeout().toNanos();
            long period = Math.max(stallNanos / 4, TimeUnit.MILLISECONDS.toNanos(20));
            ScheduledFuture<?> check = watchdog.scheduleAtFixedRate(() -> {
                if (nanoTime.getAsLong() - lastByteAt.get() > stallNanos && stalled.compareAndSet(false, true)) {
                    try {
                        body.close();
                    } catch (IOException ignored) {
                        // The reader sees the stream closed either way.
                    }
                }
            }, period, period, TimeUnit.NANOSECONDS);
            try {
                while (true) {
                    int read = body.read(chunk, filled, chunk.length - filled);
                    if (read < 0) {
                        break;
                    }
                    lastByteAt.set(nanoTime.getAsLong());
                    filled += read;
                    if (target.length() + filled > limit) {
                        tooLong(announced);
                    }
                    if (filled == chunk.length) {
                        write(chunk, filled);
                        filled = 0;
                    }
                    progress.update(target.length() + filled);
                }
                write(chunk, filled);
            } catch (IOException e) {
                write(chunk, filled);
                throw new Retry(stalled.get()
                        ? "no data for " + format(policy.stallTimeout()) + " after " + Progress.megabytes(target.length())
                        : "the connection broke after " + Progress.megabytes(target.length()) + " (" + e.getMessage() + ")");
            } finally {
                check.cancel(false);
            }
        }

        private void write(byte[] chunk, int count) throws StorageException {
            try {
                target.append(chunk, 0, count);
            } catch (IOException e) {
                throw new StorageException("cannot write %s: %s. Is the volume full or read-only?".formatted(target.path(), e), e);
            }
        }
    }

    private static void close(HttpResponse<InputStream> response) {
        try {
            response.body().close();
        } catch (IOException ignored) {
            // Nothing was going to be read from it.
        }
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    private static boolean isHttp(URI uri) {
        return ("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme())) && uri.getHost() != null;
    }

    /** A URL without its query or user info: a pre-signed URL's signature is a credential, and so is a password. */
    static String redacted(URI uri) {
        if (uri.getScheme() == null || uri.isOpaque()) {
            return (uri.getScheme() == null ? "" : uri.getScheme() + ":") + "…";
        }
        String authority = uri.getRawAuthority() == null ? "" : uri.getRawAuthority();
        return uri.getScheme() + "://" + authority.substring(authority.lastIndexOf('@') + 1)
                + (uri.getRawPath() == null ? "" : uri.getRawPath()) + (uri.getRawQuery() == null ? "" : "?…");
    }

    static String format(Duration duration) {
        return duration.toMillis() % 1000 == 0 ? duration.toSeconds() + " s" : duration.toMillis() + " ms";
    }
}
