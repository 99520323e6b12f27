package io.knllama.modelcache.log;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class ProgressTest {

    private final List<String> lines = new ArrayList<>();
    private final Log log = Log.to(lines::add, Clock.fixed(Instant.parse("2026-01-02T03:04:05.678Z"), ZoneOffset.UTC));
    private long now;

    @Test
    void logs_each_tenth_but_never_twice_within_two_seconds() {
        Progress progress = Progress.start(log, "downloading m.gguf", 0, 100_000_000, () -> now);

        advance(1000); // a tenth, but after only a second: not yet
        progress.update(10_000_000);
        advance(1000); // two seconds since the start
        progress.update(20_000_000);
        advance(500); // another tenth half a second later: too soon
        progress.update(30_000_000);

        assertThat(lines).containsExactly("2026-01-02T03:04:05.678Z INFO  downloading m.gguf: 20% 20.0 of 100.0 MB, 10.0 MB/s, ETA 8s");
    }

    @Test
    void logs_every_five_seconds_when_the_tenths_come_slowly() {
        Progress progress = Progress.start(log, "downloading m.gguf", 0, 1_000_000_000, () -> now);

        for (int second = 1; second <= 11; second++) {
            advance(1000);
            progress.update(second * 1_000_000L);
        }

        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).endsWith("downloading m.gguf: 0% 5.0 of 1000.0 MB, 1.0 MB/s, ETA 16m 35s");
        assertThat(lines.get(1)).endsWith("1% 10.0 of 1000.0 MB, 1.0 MB/s, ETA 16m 30s");
    }

    @Test
    void counts_resumed_bytes_in_the_percentage_but_not_in_the_rate() {
        Progress progress = Progress.start(log, "downloading m.gguf", 50_000_000, 100_000_000, () -> now);

        advance(5000);
        progress.update(60_000_000);
        progress.finish(100_000_000, "downloaded");

        assertThat(lines.get(0)).endsWith("60% 60.0 of 100.0 MB, 2.0 MB/s, ETA 20s");
        assertThat(lines.get(1)).endsWith("downloading m.gguf: downloaded 100.0 MB in 5.0 s (10.0 MB/s)");
    }

    @Test
    void leaves_out_percent_and_eta_when_the_size_is_unknown() {
        Progress progress = Progress.start(log, "downloading m.gguf", 0, -1, () -> now);

        advance(5000);
        progress.update(5_000_000);

        assertThat(lines).singleElement().asString().endsWith("downloading m.gguf: 5.0 MB, 1.0 MB/s");
    }

    @Test
    void formats_long_durations_in_minutes_and_hours() {
        assertThat(Progress.duration(TimeUnit.SECONDS.toNanos(59))).isEqualTo("59s");
        assertThat(Progress.duration(TimeUnit.SECONDS.toNanos(61))).isEqualTo("1m 01s");
        assertThat(Progress.duration(TimeUnit.SECONDS.toNanos(7384))).isEqualTo("2h 03m");
    }

    private void advance(long millis) {
        now += TimeUnit.MILLISECONDS.toNanos(millis);
    }
}
