package io.knllama.inference;

import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class PromptCacheTest {

    private static int[] tokens(int from, int to) {
        return IntStream.range(from, to).toArray();
    }

    private static int[] concat(int[] a, int[] b) {
        return IntStream.concat(IntStream.of(a), IntStream.of(b)).toArray();
    }

    private static final int[] SYSTEM = tokens(0, 100);

    @Test
    void a_conversations_next_turn_goes_to_the_slot_holding_its_previous_turn() {
        PromptCache cache = new PromptCache(2, true);
        int[] turn1 = concat(SYSTEM, tokens(1000, 1050));
        PromptCache.Claim first = cache.claim(turn1);
        cache.release(first.slot(), turn1);

        PromptCache.Claim second = cache.claim(concat(turn1, tokens(2000, 2010)));

        assertThat(second.slot()).isEqualTo(first.slot());
        assertThat(second.reusedTokens()).isEqualTo(150);
    }

    @Test
    void a_new_user_sharing_only_the_system_prompt_takes_another_slot_and_keeps_the_first_users_conversation() {
        PromptCache cache = new PromptCache(2, true);
        int[] userA = concat(SYSTEM, tokens(1000, 1300));
        PromptCache.Claim a = cache.claim(userA);
        cache.release(a.slot(), userA);

        PromptCache.Claim b = cache.claim(concat(SYSTEM, tokens(5000, 5020)));

        assertThat(b.slot()).isNotEqualTo(a.slot());
        assertThat(b.reusedTokens()).isZero();
    }

    @Test
    void once_every_slot_holds_the_system_prompt_a_new_user_reuses_it() {
        PromptCache cache = new PromptCache(2, true);
        for (int user = 0; user < 2; user++) {
            int[] prompt = concat(SYSTEM, tokens(1000 * (user + 1), 1000 * (user + 1) + 300));
            PromptCache.Claim claim = cache.claim(prompt);
            cache.release(claim.slot(), prompt);
        }

        PromptCache.Claim third = cache.claim(concat(SYSTEM, tokens(9000, 9020)));

        assertThat(third.reusedTokens()).isEqualTo(SYSTEM.length);
    }

    @Test
    void the_prompts_last_token_is_always_processed() {
        PromptCache cache = new PromptCache(1, true);
        int[] prompt = tokens(0, 10);
        cache.release(cache.claim(prompt).slot(), prompt);

        assertThat(cache.claim(prompt).reusedTokens()).isEqualTo(9);
    }

    @Test
    void busy_slots_are_never_claimed_and_disabled_reuse_reports_nothing() {
        PromptCache cache = new PromptCache(2, false);
        int[] prompt = tokens(0, 10);
        PromptCache.Claim first = cache.claim(prompt);
        PromptCache.Claim second = cache.claim(prompt);

        assertThat(second.slot()).isNotEqualTo(first.slot());
        assertThat(second.reusedTokens()).isZero();
    }

    @Test
    void an_answer_cut_by_the_token_limit_leaves_its_last_token_out_of_the_cache() {
        int[] promptAndAnswer = tokens(0, 12);

        assertThat(PromptCache.afterGeneration(10, promptAndAnswer, true)).hasSize(11);
        assertThat(PromptCache.afterGeneration(10, promptAndAnswer, false)).hasSize(12);
        assertThat(PromptCache.afterGeneration(12, promptAndAnswer, true)).hasSize(12);
    }
}
