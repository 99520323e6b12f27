package io.knllama.modelcache.download;

import java.time.Duration;

/**
 * Limits for HTTP downloads.
 *
 * @param connectTimeout  to open a connection
 * @param responseTimeout from sending a request to its response headers
 * @param stallTimeout    without a single body byte before the connection is dropped and the download resumed
 * @param maxRedirects    redirects followed per request
 * @param retry           what happens after a failure
 * @param maxBytes        the largest file fetched: a source announcing more is refused before its body is read,
 *                        and a body that announces no size is cut off here (one that announces a size is cut
 *                        off at that size)
 */
public record DownloadPolicy(Duration connectTimeout, Duration responseTimeout, Duration stallTimeout,
                             int maxRedirects, RetryPolicy retry, long maxBytes) {

    /**
     * Hugging Face stores no file over 50 GB; a larger single GGUF from elsewhere needs the limit raised
     * ({@code KNLLAMA_MODEL_MAX_SIZE}).
     */
    public static final long DEFAULT_MAX_BYTES = 64_000_000_000L;

    public DownloadPolicy {
        if (connectTimeout.isNegative() || connectTimeout.isZero() || responseTimeout.isNegative() || responseTimeout.isZero()
                || stallTimeout.isNegative() || stallTimeout.isZero() || maxRedirects < 0 || maxBytes <= 0) {
            throw new IllegalArgumentException("timeouts and maxBytes must be positive and maxRedirects not negative");
        }
    }

    public DownloadPolicy(Duration connectTimeout, Duration responseTimeout, Duration stallTimeout, int maxRedirects,
                          RetryPolicy retry) {
        this(connectTimeout, responseTimeout, stallTimeout, maxRedirects, retry, DEFAULT_MAX_BYTES);
    }

    public static DownloadPolicy defaults() {
        return new DownloadPolicy(Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60), 10, RetryPolicy.defaults());
    }

    public DownloadPolicy withMaxBytes(long maxBytes) {
        return new DownloadPolicy(connectTimeout, responseTimeout, stallTimeout, maxRedirects, retry, maxBytes);
    }
}
