package io.knllama.modelcache.download;

import java.time.Duration;

/**
 * Time limits for HTTP downloads.
 *
 * @param connectTimeout  to open a connection
 * @param responseTimeout from sending a request to its response headers
 * @param stallTimeout    without a single body byte before the connection is dropped and the download resumed
 * @param maxRedirects    redirects followed per request
 * @param retry           what happens after a failure
 */
public record DownloadPolicy(Duration connectTimeout, Duration responseTimeout, Duration stallTimeout,
                             int maxRedirects, RetryPolicy retry) {

    public DownloadPolicy {
        if (connectTimeout.isNegative() || connectTimeout.isZero() || responseTimeout.isNegative() || responseTimeout.isZero()
                || stallTimeout.isNegative() || stallTimeout.isZero() || maxRedirects < 0) {
            throw new IllegalArgumentException("timeouts must be positive and maxRedirects not negative");
        }
    }

    public static DownloadPolicy defaults() {
        return new DownloadPolicy(Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60), 10, RetryPolicy.defaults());
    }
}
