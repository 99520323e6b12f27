package io.knllama.modelcache.download;

import io.knllama.modelcache.verify.Sha256;

import java.util.Optional;

/**
 * A completed transfer into a {@link PartialFile}.
 *
 * @param size       bytes in the file
 * @param sha256     their digest, computed while they were written
 * @param advertised the digest the source announced, if it did (Hugging Face's {@code X-Linked-Etag})
 */
public record Download(long size, Sha256 sha256, Optional<Sha256> advertised) {
}
