package io.knllama.modelcache.download;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.function.DoubleSupplier;

/**
 * How often and how patiently a failing request is retried: exponential backoff with jitter, or the
 * server's {@code Retry-After} when it sends one (capped, so a misbehaving server cannot park the pod).
 * The count of failures starts again whenever a download makes progress, so a long download over a
 * flaky link is not failed for the sum of its hiccups.
 *
 * @param maxAttempts    attempts without progress before giving up, at least 1
 * @param initialBackoff the wait after the first failure; it doubles after each further one
 * @param maxBackoff     the longest computed wait
 * @param maxRetryAfter  the longest wait a {@code Retry-After} header can ask for
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, Duration maxRetryAfter) {

    public RetryPolicy {
        if (maxAttempts < 1 || initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0 || maxRetryAfter.isNegative()) {
            throw new IllegalArgumentException("invalid retry policy " + maxAttempts + ", " + initialBackoff + ", " + maxBackoff);
        }
    }

    /** Eight attempts over about two minutes; Retry-After honoured up to five minutes. */
    public static RetryPolicy defaults() {
        return new RetryPolicy(8, Duration.ofSeconds(1), Duration.ofSeconds(60), Duration.ofMinutes(5));
    }

    /**
     * The wait before the next attempt.
     *
     * @param failures   failures since the last progress, at least 1
     * @param retryAfter what the server asked for, if anything
     * @param random     a uniform value in [0, 1), for jitter: pods that failed together do not retry together
     */
    public Duration delay(int failures, Optional<Duration> retryAfter, DoubleSupplier random) {
        if (retryAfter.isPresent()) {
            Duration asked = retryAfter.get();
            return asked.compareTo(maxRetryAfter) > 0 ? maxRetryAfter : asked;
        }
        long base = initialBackoff.toMillis() << Math.min(failures - 1, 30);
        long capped = Math.min(Math.max(base, 0), maxBackoff.toMillis());
        return Duration.ofMillis((long) (capped * (0.5 + random.getAsDouble() / 2)));
    }

    /** Parses {@code Retry-After}: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
    public static Optional<Duration> parseRetryAfter(String value, Instant now) {
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        String text = value.strip();
        if (text.chars().allMatch(Character::isDigit)) {
            try {
                return Optional.of(Duration.ofSeconds(Long.parseLong(text)));
            } catch (NumberFormatException tooLarge) {
                return Optional.of(Duration.ofSeconds(Long.MAX_VALUE / 1_000_000_000L));
            }
        }
        try {
            Instant at = ZonedDateTime.parse(text, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            return Optional.of(at.isAfter(now) ? Duration.between(now, at) : Duration.ZERO);
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }
}
