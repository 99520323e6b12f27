package io.knllama.inference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * Puts llama.cpp's JNI library where the binding will find it, before the binding looks for itself.
 *
 * <p>Left alone, the binding copies {@code libjllama.so} over {@code $TMPDIR/libjllama.so} on every start and
 * first deletes every file in {@code $TMPDIR} whose name starts with "llama" or "jllama". Two processes
 * starting together then overwrite the library the other is loading, and a model saved as
 * {@code /tmp/llama-….gguf} disappears. Here the library goes to a directory named after its checksum, written
 * under a temporary name and moved into place, so concurrent starts agree and later starts reuse it; and the
 * binding's clean-up is pointed at that directory, where it finds nothing of ours to delete.
 *
 * <p>Images set {@code de.kherud.llama.lib.path} to a library laid out at build time; then nothing happens here.
 */
final class NativeLibrary {

    static final String LIB_PATH = "de.kherud.llama.lib.path";
    static final String TMP_DIR = "de.kherud.llama.tmpdir";
    private static final Logger LOG = LoggerFactory.getLogger(NativeLibrary.class);

    private NativeLibrary() {
    }

    /** Extracts the library for this platform, if the binding has one and no location was configured. */
    static synchronized void prepare() {
        if (System.getProperty(LIB_PATH) != null) {
            return;
        }
        String name = System.mapLibraryName("jllama");
        String resource = "/de/kherud/llama/%s/%s/%s".formatted(os(), arch(), name);
        URL url = NativeLibrary.class.getResource(resource);
        if (url == null) {
            return; // the binding will report what it cannot find
        }
        try {
            // Named after the library's CRC-32 and size, which the jar's directory holds: a start that finds it
            // already extracted reads nothing more. Outside a jar, both come from the bytes.
            byte[] library = null;
            long crc;
            long size;
            if (url.openConnection() instanceof JarURLConnection jar && jar.getJarEntry().getCrc() != -1) {
                crc = jar.getJarEntry().getCrc();
                size = jar.getJarEntry().getSize();
            } else {
                library = read(url);
                CRC32 checksum = new CRC32();
                checksum.update(library);
                crc = checksum.getValue();
                size = library.length;
            }
            Path directory = Path.of(System.getProperty("java.io.tmpdir")).resolve("knllama-native-%08x%08x".formatted(crc, size));
            Path target = directory.resolve(name);
            if (!Files.isRegularFile(target) || Files.size(target) != size) {
                if (library == null) {
                    library = read(url);
                }
                Files.createDirectories(directory);
                Path partial = Files.createTempFile(directory, ".partial-", ".tmp");
                try {
                    Files.write(partial, library);
                    readableByAll(partial); // other users on the machine reuse the same content-named file
                    move(partial, target);
                } finally {
                    Files.deleteIfExists(partial);
                }
                LOG.debug("Extracted {} to {}", resource, target);
            }
            System.setProperty(LIB_PATH, directory.toString());
            System.setProperty(TMP_DIR, directory.toString());
        } catch (IOException e) {
            // The binding's own extraction still works on a single process; say why ours did not.
            LOG.warn("Could not extract the native library to a private directory ({}); the binding extracts it to {}",
                    e.toString(), System.getProperty("java.io.tmpdir"));
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void readableByAll(Path file) throws IOException {
        if (Files.getFileStore(file).supportsFileAttributeView(PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    /** The binding's directory names (its OSInfo), for the platforms it ships. */
    private static String os() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        return os.contains("win") ? "Windows" : os.contains("mac") ? "Mac" : "Linux";
    }

    private static String arch() {
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        return switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
    }

    private static byte[] read(URL url) throws IOException {
        try (InputStream in = url.openStream()) {
            return in.readAllBytes();
        }
    }
}
