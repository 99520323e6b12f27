package io.knllama.modelcache.publish;

import io.knllama.modelcache.log.Log;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(10)
class VolumeLockTest {

    @TempDir
    Path dir;

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Log log = Log.to(lines::add, Clock.systemUTC());
    private long now;

    @Test
    void lets_one_process_in_and_keeps_the_others_out_until_it_releases() throws Exception {
        Path path = dir.resolve(".m.gguf.lock");
        VolumeLock first = lock(path, Duration.ofSeconds(30));
        VolumeLock second = lock(path, Duration.ofSeconds(30));

        Optional<Lease> lease = first.tryAcquire();
        assertThat(lease).isPresent();
        assertThat(Files.readString(path)).contains("owner=").contains("pid " + ProcessHandle.current().pid()).contains("heartbeat=0");
        assertThat(second.tryAcquire()).isEmpty();
        assertThat(second.holder()).hasValueSatisfying(owner -> assertThat(owner).contains(first.id()));

        lease.get().close();
        assertThat(path).doesNotExist();
        try (Lease next = second.tryAcquire().orElseThrow()) {
            assertThat(next.held()).isTrue();
        }
    }

    @Test
    void takes_over_a_lock_that_has_not_changed_for_the_stale_time() throws Exception {
        Path path = Files.writeString(dir.resolve(".m.gguf.lock"), "owner=pod-7 pid 1 (deadbeef)\nacquired=…\nheartbeat=3 …\n");
        VolumeLock waiter = lock(path, Duration.ofSeconds(30));

        assertThat(waiter.tryAcquire()).isEmpty();
        now += Duration.ofSeconds(29).toNanos();
        assertThat(waiter.tryAcquire()).isEmpty();
        now += Duration.ofSeconds(1).toNanos();
        try (Lease lease = waiter.tryAcquire().orElseThrow()) {
            assertThat(lease.held()).isTrue();
            assertThat(Files.readString(path)).contains(waiter.id());
        }
        assertThat(lines).anyMatch(line -> line.contains("held by pod-7 pid 1 (deadbeef) has not been renewed for 30 s"));
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void waits_again_from_the_start_when_the_lock_changes() throws Exception {
        Path path = Files.writeString(dir.resolve(".m.gguf.lock"), "owner=a\nheartbeat=1\n");
        VolumeLock waiter = lock(path, Duration.ofSeconds(30));

        assertThat(waiter.tryAcquire()).isEmpty();
        now += Duration.ofSeconds(20).toNanos();
        Files.writeString(path, "owner=a\nheartbeat=2\n");
        assertThat(waiter.tryAcquire()).isEmpty();
        now += Duration.ofSeconds(20).toNanos();
        assertThat(waiter.tryAcquire()).isEmpty();
    }

    @Test
    void never_takes_over_from_an_owner_that_keeps_renewing_its_lease() throws Exception {
        Path path = dir.resolve(".m.gguf.lock");
        Duration staleAfter = Duration.ofMillis(600);
        try (Lease owner = new VolumeLock(path, staleAfter, log, System::nanoTime, Clock.systemUTC()).tryAcquire().orElseThrow()) {
            VolumeLock waiter = new VolumeLock(path, staleAfter, log, System::nanoTime, Clock.systemUTC());
            long until = System.nanoTime() + Duration.ofMillis(1500).toNanos();
            while (System.nanoTime() < until) {
                assertThat(waiter.tryAcquire()).isEmpty();
                Thread.sleep(50);
            }
            assertThat(owner.held()).isTrue();
            assertThat(Files.readString(path)).doesNotContain("heartbeat=0");
        }
    }

    @Test
    void notices_when_another_process_took_its_lock_over_and_then_leaves_that_lock_alone() throws Exception {
        Path path = dir.resolve(".m.gguf.lock");
        Lease lease = new VolumeLock(path, Duration.ofMillis(300), log, System::nanoTime, Clock.systemUTC()).tryAcquire().orElseThrow();

        Files.writeString(path, "owner=the new owner\n");
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (lease.held() && System.nanoTime() < until) {
            Thread.sleep(20);
        }
        lease.close();

        assertThat(lease.held()).isFalse();
        assertThat(Files.readString(path)).isEqualTo("owner=the new owner\n");
        assertThat(lines).anyMatch(line -> line.contains("lost the lock"));
    }

    private VolumeLock lock(Path path, Duration staleAfter) {
        return new VolumeLock(path, staleAfter, log, () -> now, Clock.systemUTC());
    }
}
