package io.knllama.knative;

/**
 * Run inside the unpacked function image by {@link ContainerImagesTest}: loads llama.cpp's JNI
 * library the way the function does (the binding's static initialiser extracts it to /tmp and
 * loads it), proving the image's glibc, libstdc++, libgomp and Java runtime fit together.
 * Reflection keeps the binding off this module's classpath.
 */
public final class JniSmoke {
    private JniSmoke() {
    }

    public static void main(String[] args) throws Exception {
        Class.forName("de.kherud.llama.LlamaModel", true, JniSmoke.class.getClassLoader());
        System.out.println("native library loaded");
    }
}
