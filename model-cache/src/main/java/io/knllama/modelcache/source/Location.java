package io.knllama.modelcache.source;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/** A source resolved to what a fetcher needs. */
public sealed interface Location {

    /**
     * An HTTP(S) resource.
     *
     * @param uri        the first URL to request; redirects are followed from there
     * @param token      sent to {@code uri}'s origin, never to where it redirects
     * @param repository for a Hugging Face source, {@code org/name} (it shapes the error messages)
     */
    record Http(URI uri, Optional<BearerToken> token, Optional<String> repository) implements Location {

        /** The token for a request to {@code target}: only to {@link #uri()}'s origin, never where it redirects. */
        public Optional<BearerToken> tokenFor(URI target) {
            return isOrigin(target) ? token : Optional.empty();
        }

        /** Whether {@code target} is on the source's own origin rather than somewhere a redirect led. */
        public boolean isOrigin(URI target) {
            return HuggingFaceHub.sameOrigin(uri, target);
        }
    }

    /** A file on a mounted volume. */
    record File(Path path) implements Location {
    }
}
