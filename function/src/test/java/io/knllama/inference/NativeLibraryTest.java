package io.knllama.inference;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class NativeLibraryTest {

    @Test
    void extracts_the_binding_library_to_a_content_named_directory_and_points_the_binding_there() throws Exception {
        String libPath = System.clearProperty(NativeLibrary.LIB_PATH);
        String tmpDir = System.clearProperty(NativeLibrary.TMP_DIR);
        try {
            NativeLibrary.prepare();

            Path directory = Path.of(System.getProperty(NativeLibrary.LIB_PATH));
            assertThat(directory.getFileName().toString()).matches("knllama-native-[0-9a-f]{16}");
            assertThat(System.getProperty(NativeLibrary.TMP_DIR))
                    .as("the binding's clean-up of llama* files must not run over the shared temp directory")
                    .isEqualTo(directory.toString());
            byte[] shipped;
            try (InputStream in = NativeLibrary.class.getResourceAsStream("/de/kherud/llama/Linux/x86_64/libjllama.so")) {
                shipped = in.readAllBytes();
            }
            assertThat(Files.readAllBytes(directory.resolve("libjllama.so"))).isEqualTo(shipped);
            try (var files = Files.list(directory)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactly("libjllama.so");
            }

            System.clearProperty(NativeLibrary.LIB_PATH);
            NativeLibrary.prepare();
            assertThat(System.getProperty(NativeLibrary.LIB_PATH)).as("a second start reuses it").isEqualTo(directory.toString());
        } finally {
            restore(NativeLibrary.LIB_PATH, libPath);
            restore(NativeLibrary.TMP_DIR, tmpDir);
        }
    }

    @Test
    void leaves_a_configured_library_location_alone() {
        String libPath = System.getProperty(NativeLibrary.LIB_PATH);
        try {
            System.setProperty(NativeLibrary.LIB_PATH, "/opt/knllama/native");
            NativeLibrary.prepare();
            assertThat(System.getProperty(NativeLibrary.LIB_PATH)).isEqualTo("/opt/knllama/native");
        } finally {
            restore(NativeLibrary.LIB_PATH, libPath);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }
}
