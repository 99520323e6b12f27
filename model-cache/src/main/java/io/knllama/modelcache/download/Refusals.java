package io.knllama.modelcache.download;

import io.knllama.modelcache.failure.SourceException;
import io.knllama.modelcache.source.Location;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpResponse;

/**
 * What to tell the operator when an HTTP source refuses a request (401, 403, 404, …): retrying will
 * not help, so each message says what to change. Hugging Face sources get Hugging Face's remedies.
 *
 * <p>A message names the status and the URL that answered, without its query (a pre-signed URL's
 * signature is a credential), and never quotes a response body: a redirect can lead anywhere, a cloud
 * metadata endpoint for one, and what such a server answers must not end up in the log or the pod's
 * termination message.
 */
final class Refusals {

    private static final int MAX_DETAIL = 200;

    private Refusals() {
    }

    /**
     * @param detail     the server's explanation as {@link #detail} formats it, possibly empty
     * @param answeredBy the URL whose response this is (the source's own, or where a redirect led)
     * @param label      how the source is named in messages
     */
    static SourceException of(int status, String detail, Location.Http location, URI answeredBy, String label) {
        String what = label + " (" + HttpFetcher.redacted(answeredBy) + ")";
        if (location.repository().isPresent()) {
            String repo = location.repository().get();
            return new SourceException(switch (status) {
                case 401 -> location.token().isPresent()
                        ? ("Hugging Face rejected HF_TOKEN for %s: HTTP 401%s. Check that the token is valid and not expired, "
                        + "or create one at https://huggingface.co/settings/tokens.").formatted(what, detail)
                        : ("Hugging Face refused %s: HTTP 401%s. The repository %s is private or gated (or does not exist): "
                        + "set HF_TOKEN to a token with read access to it, from https://huggingface.co/settings/tokens.")
                        .formatted(what, detail, repo);
                case 403 -> ("Hugging Face refused %s: HTTP 403%s. The token has no access to %s: for a gated model, accept "
                        + "its terms on https://huggingface.co/%s with the token's account; a fine-grained token also needs "
                        + "read access to the repository.").formatted(what, detail, repo, repo);
                case 404, 410 -> ("Hugging Face has no %s: HTTP %d%s. Check the repository, the file's path in it and the "
                        + "revision (hf://<org>/<repo>/<path>@<revision>).").formatted(what, status, detail);
                default -> "Hugging Face refused %s: HTTP %d%s.".formatted(what, status, detail);
            });
        }
        String host = answeredBy.getHost();
        return new SourceException(switch (status) {
            case 401, 403 -> ("%s refused %s: HTTP %d%s. model-cache sends HF_TOKEN only to HF_ENDPOINT; for another "
                    + "server use a pre-signed URL, or copy the model to a volume and use file://.").formatted(host, what, status, detail);
            case 404, 410 -> "%s has no %s: HTTP %d%s. Check the URL in KNLLAMA_MODEL_SOURCE.".formatted(host, what, status, detail);
            default -> "%s refused %s: HTTP %d%s.".formatted(host, what, status, detail);
        });
    }

    /**
     * The server's own explanation, short, on one line, in parentheses: Hugging Face's
     * {@code X-Error-Message} header, and only from the source's own origin (the hub), never from where
     * a redirect led. Empty if there is none. The body is closed unread.
     */
    static String detail(HttpResponse<InputStream> response, Location.Http location) {
        String detail = location.isOrigin(response.uri())
                ? response.headers().firstValue("x-error-message").orElse("") : "";
        try {
            response.body().close();
        } catch (IOException e) {
            // Nothing was going to be read from it.
        }
        detail = detail.replaceAll("\\s+", " ").replaceAll("[^\\x20-\\x7e]", "?").strip();
        if (detail.length() > MAX_DETAIL) {
            detail = detail.substring(0, MAX_DETAIL) + "…";
        }
        return detail.isEmpty() ? "" : " (" + detail + ")";
    }
}
