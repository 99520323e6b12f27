package io.knllama.knative;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * An image tarball as Jib's buildTar writes it (`docker save` format: manifest.json, config.json
 * and one gzipped tar per layer), read without Docker: its config, and per layer its size, what it
 * holds, the modes of its files and any model weights in it.
 */
final class ImageTarball {

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** A GGUF file starts with these four bytes, whatever it is named. */
    private static final byte[] GGUF_MAGIC = "GGUF".getBytes(StandardCharsets.US_ASCII);

    record Layer(String blob, String createdBy, boolean application, long compressedBytes, long bytes, int files,
                 Set<String> topDirectories) {
    }

    final Path tarball;
    final Map<String, Object> config;
    final List<Layer> layers = new ArrayList<>();
    /** Paths of files named *.gguf or starting with the GGUF magic, in any layer. */
    final List<String> weights = new ArrayList<>();
    /** Mode of every regular file, by absolute path (the last layer wins, as in the container). */
    final Map<String, Integer> modes = new HashMap<>();

    @SuppressWarnings("unchecked")
    ImageTarball(Path tarball) throws IOException {
        this.tarball = tarball;
        Map<String, byte[]> small = new HashMap<>();
        Map<String, Long> blobSizes = new HashMap<>();
        try (var tar = new TarArchiveInputStream(new BufferedInputStream(Files.newInputStream(tarball)))) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                blobSizes.put(e.getName(), e.getSize());
                if (e.getName().endsWith(".json")) {
                    small.put(e.getName(), tar.readAllBytes());
                }
            }
        }
        var manifest = (List<Map<String, Object>>) JSON.readValue(small.get("manifest.json"), Object.class);
        config = (Map<String, Object>) JSON.readValue(small.get((String) manifest.getFirst().get("Config")), Object.class);
        var blobs = (List<String>) manifest.getFirst().get("Layers");
        // One history entry per layer, except entries marked empty_layer.
        var history = ((List<Map<String, Object>>) config.get("history")).stream()
                .filter(h -> !Boolean.TRUE.equals(h.get("empty_layer"))).toList();
        if (history.size() != blobs.size()) {
            throw new IOException(tarball + ": " + blobs.size() + " layers but " + history.size() + " history entries");
        }
        Map<String, Layer> scanned = new HashMap<>();
        try (var tar = new TarArchiveInputStream(new BufferedInputStream(Files.newInputStream(tarball)))) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                int index = blobs.indexOf(e.getName());
                if (index >= 0) {
                    var h = history.get(index);
                    String createdBy = h.get("comment") != null ? (String) h.get("comment") : (String) h.get("created_by");
                    scanned.put(e.getName(), scanLayer(e.getName(), layerStream(e.getName(), tar), createdBy,
                            "Jib".equals(h.get("author")), blobSizes.get(e.getName())));
                }
            }
        }
        blobs.forEach(blob -> layers.add(scanned.get(blob)));
    }

    @SuppressWarnings("unchecked")
    Map<String, Object> containerConfig() {
        return (Map<String, Object>) config.get("config");
    }

    @SuppressWarnings("unchecked")
    List<String> entrypoint() {
        return (List<String>) containerConfig().get("Entrypoint");
    }

    @SuppressWarnings("unchecked")
    Map<String, String> env() {
        Map<String, String> env = new HashMap<>();
        for (String kv : (List<String>) containerConfig().get("Env")) {
            int eq = kv.indexOf('=');
            env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return env;
    }

    private static InputStream layerStream(String name, InputStream in) throws IOException {
        InputStream unclosable = new java.io.FilterInputStream(in) {
            @Override
            public void close() {
                // the outer tar stays open
            }
        };
        return name.endsWith(".gz") ? new GZIPInputStream(unclosable, 1 << 16) : unclosable;
    }

    private Layer scanLayer(String blob, InputStream in, String createdBy, boolean application, long compressed)
            throws IOException {
        long bytes = 0;
        int files = 0;
        Set<String> top = new TreeSet<>();
        try (var tar = new TarArchiveInputStream(in)) {
            for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
                String path = "/" + e.getName().replaceFirst("^\\./", "").replaceFirst("^/", "");
                if (!e.isFile()) {
                    continue;
                }
                // Where the layer's files are, two directories deep: /app/libs, /opt/java, …
                String[] parts = path.split("/");
                top.add(parts.length > 3 ? "/" + parts[1] + "/" + parts[2] : path.substring(0, path.lastIndexOf('/') + 1));
                files++;
                bytes += e.getSize();
                modes.put(path, e.getMode());
                byte[] head = tar.readNBytes(GGUF_MAGIC.length);
                if (path.toLowerCase(Locale.ROOT).endsWith(".gguf") || java.util.Arrays.equals(head, GGUF_MAGIC)) {
                    weights.add(path + " (layer " + blob + ")");
                }
            }
        }
        return new Layer(blob, createdBy, application, compressed, bytes, files, top);
    }
}
