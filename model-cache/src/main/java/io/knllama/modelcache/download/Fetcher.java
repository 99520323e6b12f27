package io.knllama.modelcache.download;

import io.knllama.modelcache.failure.IntegrityException;
import io.knllama.modelcache.failure.SourceException;
import io.knllama.modelcache.failure.StorageException;
import io.knllama.modelcache.failure.UnavailableException;
import io.knllama.modelcache.log.Log;
import io.knllama.modelcache.source.Location;
import io.knllama.modelcache.verify.Sha256;

import java.util.Optional;

/** Brings a resolved source into a {@link PartialFile}, whatever kind of location it is. */
public final class Fetcher {

    private final HttpFetcher http;
    private final FileFetcher files;

    public Fetcher(HttpFetcher http, FileFetcher files) {
        this.http = http;
        this.files = files;
    }

    public static Fetcher create(DownloadPolicy policy, Log log) {
        DiskSpace disk = DiskSpace.ofFileStore();
        return new Fetcher(new HttpFetcher(policy, disk, Sleeper.real(), log), new FileFetcher(disk, log, System::nanoTime));
    }

    /**
     * @param label how messages name the source
     * @param name  how progress lines name the file
     */
    public Download fetch(Location location, PartialFile target, Optional<Sha256> pinned, String label, String name)
            throws SourceException, UnavailableException, IntegrityException, StorageException, InterruptedException {
        return switch (location) {
            case Location.Http remote -> http.fetch(remote, target, pinned, label, name);
            case Location.File local -> files.fetch(local, target, label, name);
        };
    }
}
