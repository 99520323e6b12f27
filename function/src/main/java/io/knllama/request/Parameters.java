package io.knllama.request;

import java.util.HashSet;
import java.util.Set;

/**
 * The parameters one JSON object of a request may carry, sorted by what this server does with each. It is the
 * one list per object: the parser checks bodies against it, and tests check the OpenAPI description and the
 * README tables against it.
 *
 * @param honoured read and acted on
 * @param ignored  accepted and type-checked, but changing nothing here (OpenAI's {@code user}, for example)
 * @param refused  known, but not supported: a 400 naming them, unless sent at a value that changes nothing
 *                 ({@code n: 1}, {@code tools: []})
 */
public record Parameters(Set<String> honoured, Set<String> ignored, Set<String> refused) {

    public Parameters {
        honoured = Set.copyOf(honoured);
        ignored = Set.copyOf(ignored);
        refused = Set.copyOf(refused);
        Set<String> seen = new HashSet<>(honoured);
        for (String name : union(ignored, refused)) {
            if (!seen.add(name)) {
                throw new IllegalArgumentException("'" + name + "' is listed twice");
            }
        }
    }

    /** Every parameter this object may carry. */
    public Set<String> all() {
        return union(honoured, union(ignored, refused));
    }

    /** These parameters, with more honoured ones. */
    public Parameters honouring(Set<String> more) {
        return new Parameters(union(honoured, more), ignored, refused);
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> all = new HashSet<>(a);
        all.addAll(b);
        return Set.copyOf(all);
    }
}
