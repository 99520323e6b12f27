package io.knllama.events;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.cloudevents.CloudEvent;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;

/**
 * Recent deliveries and their replies, so that a redelivered event gets the first reply without the work being
 * done again.
 *
 * <p>An event is the same event when its {@code source}, {@code id} and content (type and data, by digest) are:
 * an event that reuses another's source and id with different data is answered on its own, not with the other's
 * reply. Memory is bounded in bytes, not in entries: a reply is weighed by its data once it is known (replies
 * range from a few hundred bytes to megabytes for a large batch); past the bound, Caffeine forgets by recency and
 * frequency.
 */
final class Deliveries {

    /** What a reply costs besides its data: attributes, the future, the cache's node. */
    static final int OVERHEAD_BYTES = 1024;

    /** The key of one delivery: source, id and a digest of the content. */
    record Key(String value) {
    }

    private final Cache<Key, CompletableFuture<CloudEvent>> replies;

    Deliveries(long maxBytes, Duration ttl) {
        this(maxBytes, ttl, Ticker.systemTicker());
    }

    Deliveries(long maxBytes, Duration ttl, Ticker ticker) {
        this.replies = Caffeine.newBuilder()
                .maximumWeight(maxBytes)
                .weigher(Deliveries::weigh)
                .expireAfterWrite(ttl)
                .ticker(ticker)
                .executor(Runnable::run)
                .build();
    }

    static Key key(CloudEvent event, EventProcessor.Kind kind) {
        MessageDigest digest = sha256();
        digest.update((kind + "\n" + event.getType() + "\n" + event.getDataContentType() + "\n").getBytes(StandardCharsets.UTF_8));
        if (event.getData() != null) {
            digest.update(event.getData().toBytes());
        }
        return new Key(event.getSource() + "\n" + event.getId() + "\n" + HexFormat.of().formatHex(digest.digest()));
    }

    /**
     * The reply to answer {@code key}'s delivery with: the first delivery's when the same event is remembered,
     * otherwise {@code reply}, now remembered as the event's.
     */
    CompletableFuture<CloudEvent> claim(Key key, CompletableFuture<CloudEvent> reply) {
        CompletableFuture<CloudEvent> first = replies.asMap().putIfAbsent(key, reply);
        if (first != null) {
            return first;
        }
        // Written again once answered, so that the cache weighs the reply it now holds.
        reply.thenRun(() -> replies.asMap().replace(key, reply, reply));
        return reply;
    }

    /** Forgets {@code key}'s delivery, if {@code reply} is still the one remembered, so that a redelivery runs anew. */
    void forget(Key key, CompletableFuture<CloudEvent> reply) {
        replies.asMap().remove(key, reply);
    }

    /** Bytes held, as weighed; for tests and metrics. */
    long weightedBytes() {
        replies.cleanUp();
        return replies.policy().eviction().orElseThrow().weightedSize().orElseThrow();
    }

    private static int weigh(Key key, CompletableFuture<CloudEvent> reply) {
        long bytes = OVERHEAD_BYTES + 2L * key.value().length();
        CloudEvent event = reply.isDone() && !reply.isCompletedExceptionally() ? reply.join() : null;
        if (event != null && event.getData() != null) {
            bytes += event.getData().toBytes().length;
        }
        return (int) Math.min(Integer.MAX_VALUE, bytes);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
