package io.knllama.modelcache.source;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;

/**
 * Where {@code hf://} sources are resolved, and with which token.
 *
 * @param endpoint the hub or a mirror ({@code HF_ENDPOINT}), without a trailing slash
 * @param token    {@code HF_TOKEN}, sent to the endpoint's origin only
 */
public record HuggingFaceHub(URI endpoint, Optional<BearerToken> token) {

    public static final URI DEFAULT_ENDPOINT = URI.create("https://huggingface.co");

    public HuggingFaceHub {
        String scheme = endpoint.getScheme() == null ? "" : endpoint.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !scheme.equals("http") || endpoint.getHost() == null
                || endpoint.getRawQuery() != null || endpoint.getRawFragment() != null || endpoint.getRawUserInfo() != null) {
            throw new IllegalArgumentException("'" + endpoint + "' is not an http(s) URL like https://huggingface.co");
        }
        String text = endpoint.toString();
        if (text.endsWith("/")) {
            endpoint = URI.create(text.replaceAll("/+$", ""));
        }
    }

    /** Parses {@code HF_ENDPOINT}. */
    public static URI parseEndpoint(String text) {
        try {
            return new URI(text.strip());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("'" + text + "' is not a URL: " + e.getMessage());
        }
    }

    /** Whether a request to {@code uri} goes to the hub itself (and may carry the token). */
    public boolean isOrigin(URI uri) {
        return sameOrigin(endpoint, uri);
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme())
                && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }
}
