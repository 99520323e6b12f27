package io.knllama.modelcache.source;

/**
 * A secret sent as {@code Authorization: Bearer …}. Its {@link #toString()} hides it, so a record
 * holding one can be logged.
 *
 * @param value the token
 */
public record BearerToken(String value) {

    public BearerToken {
        if (value == null || value.isBlank() || !value.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("a token is printable ASCII without spaces");
        }
    }

    public String header() {
        return "Bearer " + value;
    }

    @Override
    public String toString() {
        return "BearerToken[****]";
    }
}
