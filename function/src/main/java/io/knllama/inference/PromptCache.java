package io.knllama.inference;

import java.util.Arrays;

/**
 * Which tokens each native slot holds in its KV cache, so that a request goes to the free slot that already holds
 * the longest start of its prompt (the previous turn of its conversation, or the system prompt it shares with other
 * users) and reports how many prompt tokens it reused.
 *
 * <p>llama.cpp reuses the longest common prefix of a slot's cached tokens and the new prompt, and always evaluates
 * at least the prompt's last token. A slot holds the prompt it last processed and the answer's tokens except the last
 * one (sampled, never decoded): the end-of-text token when the model ended the answer, the answer's last token when
 * the token limit did. This record takes the answer's tokens as its text tokenizes; a model that wrote its answer
 * with other tokens reuses fewer of them than reported. When a stop sequence ended the answer, the slot also holds
 * most of the stop sequence's tokens, which this record leaves out: it then reports a little less than was reused.
 *
 * <p>Thread-safe; one slot is claimed per admitted request, and {@link Admission} guarantees one is free.
 */
final class PromptCache {

    private final int[][] cached;
    private final long[] lastUsed;
    private final boolean[] busy;
    private final boolean enabled;
    private long clock;

    /** A slot given to one request, and the prompt tokens it holds already. */
    record Claim(int slot, int reusedTokens) {
    }

    PromptCache(int slots, boolean enabled) {
        this.cached = new int[slots][0];
        this.lastUsed = new long[slots];
        this.busy = new boolean[slots];
        this.enabled = enabled;
    }

    /**
     * Claims a free slot for {@code prompt}: the one holding the longest start of it, if reusing that start keeps at
     * least half of what the slot holds (the previous turn of this conversation); otherwise the least recently used
     * one, so that one user's shared system prompt does not evict another user's conversation. (llama.cpp's own
     * choice, by prompt similarity, follows the same rule.)
     */
    synchronized Claim claim(int[] prompt) {
        int best = -1;
        int bestLength = 0;
        int leastRecent = -1;
        for (int slot = 0; slot < cached.length; slot++) {
            if (busy[slot]) {
                continue;
            }
            if (leastRecent < 0 || lastUsed[slot] < lastUsed[leastRecent]) {
                leastRecent = slot;
            }
            int length = enabled ? commonPrefix(cached[slot], prompt) : 0;
            if (length > bestLength && 2L * length >= cached[slot].length) {
                best = slot;
                bestLength = length;
            }
        }
        if (leastRecent < 0) {
            throw new IllegalStateException("no free slot: admission lets no more requests in than there are slots");
        }
        int slot = best >= 0 ? best : leastRecent;
        int reused = enabled ? commonPrefix(cached[slot], prompt) : 0;
        busy[slot] = true;
        lastUsed[slot] = ++clock;
        return new Claim(slot, Math.max(0, Math.min(reused, prompt.length - 1)));
    }

    /** The slot is free again and holds {@code tokens} (empty when not known). */
    synchronized void release(int slot, int[] tokens) {
        cached[slot] = enabled ? tokens : new int[0];
        busy[slot] = false;
    }

    /**
     * Free slots may have been used by work that does not say which slot it took (embeddings): they hold nothing
     * this record can vouch for.
     */
    synchronized void forgetFree() {
        for (int slot = 0; slot < cached.length; slot++) {
            if (!busy[slot]) {
                cached[slot] = new int[0];
            }
        }
    }

    /**
     * The tokens a slot holds after a generation, from its prompt and answer as tokenized together: all of them when
     * the model ended the answer itself, all but the last when the token limit cut it.
     */
    static int[] afterGeneration(int promptLength, int[] promptAndAnswer, boolean cutByLimit) {
        boolean answered = promptAndAnswer.length > promptLength;
        return cutByLimit && answered ? Arrays.copyOf(promptAndAnswer, promptAndAnswer.length - 1) : promptAndAnswer;
    }

    static int commonPrefix(int[] a, int[] b) {
        int mismatch = Arrays.mismatch(a, b);
        return mismatch < 0 ? a.length : mismatch;
    }
}
