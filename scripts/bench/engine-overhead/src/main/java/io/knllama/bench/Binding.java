package io.knllama.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;

import java.util.Arrays;
import java.util.List;

/** The bare binding's side: generations with the per-request parameters the function sets. */
final class Binding {

    private final LlamaModel llama;
    private final String prompt;
    private final String[] stop;
    private final int maxTokens;
    private final boolean cachePrompt;

    Binding(LlamaModel llama, String prompt, List<String> stop, int maxTokens, boolean cachePrompt) {
        this.llama = llama;
        this.prompt = prompt;
        this.stop = stop.toArray(String[]::new);
        this.maxTokens = maxTokens;
        this.cachePrompt = cachePrompt;
    }

    Sample generate() {
        // Fresh per request, as in the function: the binding mutates its parameter objects.
        InferenceParameters parameters = new InferenceParameters(prompt)
                .setNPredict(maxTokens)
                .setCachePrompt(cachePrompt)
                .setTemperature(0);
        if (stop.length > 0) {
            parameters.setStopStrings(stop);
        }
        double[] gaps = new double[maxTokens + 1];
        int pieces = 0;
        int outputs = 0;
        long first = 0;
        long last = 0;
        long start = System.nanoTime();
        LlamaIterator iterator = llama.generate(parameters).iterator();
        while (iterator.hasNext()) {
            LlamaOutput output = iterator.next();
            if (!iterator.hasNext()) {
                break; // the closing result carries no text, and the function does not count it either
            }
            outputs++;
            if (!output.text.isEmpty()) {
                long now = System.nanoTime();
                if (pieces > 0 && pieces - 1 < gaps.length) {
                    gaps[pieces - 1] = (now - last) / 1e6;
                }
                first = first == 0 ? now : first;
                last = now;
                pieces++;
            }
        }
        long end = System.nanoTime();
        return new Sample("binding", outputs, first == 0 ? Double.NaN : (first - start) / 1e6,
                pieces > 1 ? (last - first) / 1e6 : 0, (end - start) / 1e6,
                Arrays.copyOf(gaps, Math.clamp(pieces - 1, 0, gaps.length)));
    }
}
