package io.knllama.modelcache.download;

import io.knllama.modelcache.failure.SourceException;
import io.knllama.modelcache.source.Location;

import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

/**
 * What to tell the operator when an HTTP source refuses a request (401, 403, 404, …): retrying will
 * not help, so each message says what to change. Hugging Face sources get Hugging Face's remedies.
 */
final class Refusals {

    private Refusals() {
    }

    /**
     * @param detail the server's explanation as {@link #detail} formats it, possibly empty
     * @param label  how the source is named in messages
     */
    static SourceException of(int status, String detail, Location.Http location, String label) {
        String what = label + " (" + HttpFetcher.redacted(location.uri()) + ")";
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
        String host = location.uri().getHost();
        return new SourceException(switch (status) {
            case 401, 403 -> ("%s refused %s: HTTP %d%s. model-cache sends HF_TOKEN only to HF_ENDPOINT; for another "
                    + "server use a pre-signed URL, or copy the model to a volume and use file://.").formatted(host, what, status, detail);
            case 404, 410 -> "%s has no %s: HTTP %d%s. Check the URL in KNLLAMA_MODEL_SOURCE.".formatted(host, what, status, detail);
            default -> "%s refused %s: HTTP %d%s.".formatted(host, what, status, detail);
        });
    }

    /**
     * The server's own explanation, short, on one line, in parentheses: Hugging Face's
     * {@code X-Error-Message}, or a small body. Empty if there is none. Closes the body.
     */
    static String detail(HttpResponse<InputStream> response) {
        String detail = response.headers().firstValue("x-error-message").orElse("");
        try (InputStream body = response.body()) {
            long length = response.headers().firstValueAsLong("content-length").orElse(-1);
            if (detail.isEmpty() && length > 0 && length <= 4096) {
                detail = new String(body.readNBytes((int) length), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            // The status alone is enough to go on.
        }
        detail = detail.replaceAll("\\s+", " ").replaceAll("[^\\x20-\\x7e]", "?").strip();
        if (detail.length() > 200) {
            detail = detail.substring(0, 200) + "…";
        }
        return detail.isEmpty() ? "" : " (" + detail + ")";
    }
}
