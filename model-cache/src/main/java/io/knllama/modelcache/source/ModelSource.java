package io.knllama.modelcache.source;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where the model comes from, as configured: {@code hf://org/repo/path/file.gguf[@revision]},
 * {@code https://…} (or {@code http://…}), or {@code file:///…}.
 */
public sealed interface ModelSource {

    /**
     * @throws IllegalArgumentException if the text is none of the supported forms; the message shows
     *                                  the expected form
     */
    static ModelSource parse(String text) {
        String value = text.strip();
        String scheme = value.contains("://") ? value.substring(0, value.indexOf("://")).toLowerCase(Locale.ROOT) : "";
        return switch (scheme) {
            case "hf" -> HuggingFace.parse(value.substring("hf://".length()));
            case "https", "http" -> Url.parse(value);
            case "file" -> LocalFile.parse(value);
            default -> throw new IllegalArgumentException(("'%s' is not a model source: use hf://<org>/<repo>/<file>.gguf[@revision], "
                    + "https://…/<file>.gguf or file:///<path>/<file>.gguf").formatted(text));
        };
    }

    /** The last segment of the source's path, the default name of the file on the volume. */
    Optional<String> fileName();

    /** The source in one canonical form, for the manifest and the log; never carries a secret. */
    String canonical();

    Location resolve(HuggingFaceHub hub);

    /**
     * A file in a Hugging Face repository.
     *
     * @param repository {@code org/name}
     * @param path       the file's path in the repository
     * @param revision   a branch, tag or commit ({@code main} unless given)
     */
    record HuggingFace(String repository, String path, String revision) implements ModelSource {

        private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}");

        /** Both {@code org/repo/file@rev} (the documented form) and {@code org/repo@rev/file} (fsspec's) are accepted. */
        static HuggingFace parse(String rest) {
            String usage = "hf://<org>/<repo>/<file>.gguf[@revision]";
            List<String> segments = Arrays.asList(rest.split("/", -1));
            String revision = "main";
            if (segments.size() >= 2 && segments.get(1).contains("@")) {
                String repo = segments.get(1);
                revision = repo.substring(repo.indexOf('@') + 1);
                segments = new ArrayList<>(segments);
                segments.set(1, repo.substring(0, repo.indexOf('@')));
            } else {
                int at = rest.lastIndexOf('@');
                int pathStart = segments.size() >= 2 ? segments.get(0).length() + segments.get(1).length() + 2 : rest.length();
                if (at >= pathStart) {
                    revision = rest.substring(at + 1);
                    segments = Arrays.asList(rest.substring(0, at).split("/", -1));
                }
            }
            if (segments.size() < 3) {
                throw new IllegalArgumentException("'hf://%s' names no file: use %s".formatted(rest, usage));
            }
            for (String name : segments.subList(0, 2)) {
                if (!NAME.matcher(name).matches()) {
                    throw new IllegalArgumentException("'%s' in 'hf://%s' is not a Hugging Face user, organisation or repository name"
                            .formatted(name, rest));
                }
            }
            for (String segment : segments.subList(2, segments.size())) {
                if (!validSegment(segment)) {
                    throw new IllegalArgumentException("'hf://%s' has an invalid path segment '%s': use %s".formatted(rest, segment, usage));
                }
            }
            if (!validRevision(revision)) {
                throw new IllegalArgumentException("'hf://%s' has an invalid revision '%s'".formatted(rest, revision));
            }
            return new HuggingFace(segments.get(0) + "/" + segments.get(1),
                    String.join("/", segments.subList(2, segments.size())), revision);
        }

        @Override
        public Optional<String> fileName() {
            return Optional.of(path.substring(path.lastIndexOf('/') + 1));
        }

        @Override
        public String canonical() {
            return "hf://" + repository + "/" + path + "@" + revision;
        }

        /** Hugging Face's resolve endpoint: {@code <endpoint>/<org>/<repo>/resolve/<revision>/<path>}. */
        @Override
        public Location resolve(HuggingFaceHub hub) {
            StringBuilder url = new StringBuilder(hub.endpoint().toString())
                    .append('/').append(repository)
                    .append("/resolve/").append(encode(revision)); // refs/pr/1 is one segment: refs%2Fpr%2F1
            for (String segment : path.split("/")) {
                url.append('/').append(encode(segment));
            }
            return new Location.Http(URI.create(url.toString()), hub.token(), Optional.of(repository));
        }
    }

    /**
     * A plain URL. A query string (a pre-signed URL's signature) is kept for the request but left out
     * of {@link #canonical()}, so it reaches neither the log nor the manifest.
     */
    record Url(URI uri) implements ModelSource {

        static Url parse(String text) {
            URI uri;
            try {
                uri = new URI(text);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("'%s' is not a valid URL: %s".formatted(text, e.getMessage()));
            }
            if (uri.getHost() == null) {
                throw new IllegalArgumentException("'" + text + "' has no host");
            }
            if (uri.getRawUserInfo() != null) {
                throw new IllegalArgumentException("'%s' carries credentials in the URL; use a pre-signed URL or hf:// with HF_TOKEN"
                        .formatted(uri.getScheme() + "://…@" + uri.getHost()));
            }
            return new Url(uri);
        }

        @Override
        public Optional<String> fileName() {
            String path = uri.getPath() == null ? "" : uri.getPath();
            String last = path.substring(path.lastIndexOf('/') + 1);
            return last.isEmpty() ? Optional.empty() : Optional.of(last);
        }

        @Override
        public String canonical() {
            return uri.getScheme().toLowerCase(Locale.ROOT) + "://" + uri.getRawAuthority()
                    + (uri.getRawPath() == null ? "" : uri.getRawPath()) + (uri.getRawQuery() == null ? "" : "?…");
        }

        /** Hugging Face's own URLs get the token too, so a gated model can be named by its https:// resolve URL. */
        @Override
        public Location resolve(HuggingFaceHub hub) {
            return new Location.Http(uri, hub.isOrigin(uri) ? hub.token() : Optional.empty(), Optional.empty());
        }
    }

    /** A file on another mounted volume. */
    record LocalFile(Path path) implements ModelSource {

        static LocalFile parse(String text) {
            try {
                URI uri = new URI(text);
                if (uri.getRawAuthority() != null || uri.getPath() == null || !uri.getPath().startsWith("/")) {
                    throw new IllegalArgumentException("'" + text + "' is not file:///<absolute path>");
                }
                return new LocalFile(Path.of(uri));
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("'%s' is not a valid file URL: %s".formatted(text, e.getMessage()));
            }
        }

        @Override
        public Optional<String> fileName() {
            return Optional.ofNullable(path.getFileName()).map(Path::toString);
        }

        @Override
        public String canonical() {
            return path.toUri().toString();
        }

        @Override
        public Location resolve(HuggingFaceHub hub) {
            return new Location.File(path);
        }
    }

    /** A branch, tag or commit; branch names may contain slashes ({@code refs/pr/1}). */
    private static boolean validRevision(String revision) {
        return Arrays.stream(revision.split("/", -1)).allMatch(ModelSource::validSegment);
    }

    private static boolean validSegment(String segment) {
        return !segment.isEmpty() && !segment.equals(".") && !segment.equals("..")
                && segment.chars().noneMatch(c -> c < 0x20 || c == 0x7f || c == '\\' || c == '/');
    }

    /** Percent-encodes one path segment: everything but RFC 3986's unreserved characters. */
    private static String encode(String segment) {
        StringBuilder out = new StringBuilder();
        for (byte b : segment.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (c < 0x80 && (Character.isLetterOrDigit(c) || "-._~".indexOf(c) >= 0)) {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return out.toString();
    }
}
