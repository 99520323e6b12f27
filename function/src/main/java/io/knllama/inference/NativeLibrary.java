package io.knllama.inference;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Puts llama.cpp's JNI library where the binding will find it, before the binding looks for itself.
 *
 * <p>Left alone, the binding copies {@code libjllama.so} over {@code $TMPDIR/libjllama.so} on every start and
 * first deletes every file in {@code $TMPDIR} whose name starts with "llama" or "jllama". Two processes
 * starting together then overwrite the library the other is loading, and a model saved as
 * {@code /tmp/llama-….gguf} disappears. Here the library goes to a directory named after its SHA-256, written
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
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                return; // the binding will report what it cannot find
            }
            byte[] library = in.readAllBytes();
            Path base = Path.of(System.getProperty("java.io.tmpdir"));
            Path directory = base.resolve("knllama-native-" + sha256(library).substring(0, 16));
            Path target = directory.resolve(name);
            if (!Files.isRegularFile(target) || Files.size(target) != library.length) {
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

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
