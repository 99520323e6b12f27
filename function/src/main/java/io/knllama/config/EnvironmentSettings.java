package io.knllama.config;

import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;

import java.lang.annotation.Annotation;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;

/**
 * A {@code @ConfigurationProperties} record read from environment variables alone, before Micronaut's application
 * context exists (the context takes ~0.4 s to create its first bean): for work that should begin at once, such as
 * the model's load. The record's names, {@link Bindable} defaults and constraints stay the one description of the
 * settings; this reads them as Micronaut reads the environment. It is a prediction, never the authority: its user
 * compares it with the record the context binds (which also sees system properties and configuration files) and
 * drops it when they differ. A value in a form this does not read, or a type or constraint it does not know, or a
 * constraint broken, gives no record at all, so nothing begins before the context, which reports the error.
 */
public final class EnvironmentSettings {

    private static final java.util.regex.Pattern DURATION = java.util.regex.Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");
    private static final Set<Class<? extends Annotation>> CHECKED =
            Set.of(Min.class, Max.class, NotBlank.class, NotNull.class, Pattern.class);

    private EnvironmentSettings() {
    }

    /**
     * The record with each component from the variable Micronaut maps to its property (prefix {@code knllama.model},
     * component {@code contextSize}: {@code KNLLAMA_MODEL_CONTEXT_SIZE}), else its {@link Bindable} default, else
     * null; empty where the context would bind something else or refuse the values.
     */
    public static <R extends Record> Optional<R> bind(Class<R> type, String prefix, Map<String, String> environment) {
        RecordComponent[] components = type.getRecordComponents();
        Object[] values = new Object[components.length];
        for (int i = 0; i < components.length; i++) {
            RecordComponent component = components[i];
            String text = environment.get(variable(prefix, component.getName()));
            if (text == null) {
                Bindable bindable = component.getAccessor().getAnnotation(Bindable.class);
                text = bindable == null || bindable.defaultValue().isEmpty() ? null : bindable.defaultValue();
            }
            Optional<Object> value = text == null ? Optional.empty() : convert(text, component.getType());
            if ((text != null && value.isEmpty()) || !satisfies(component, value.orElse(null))) {
                return Optional.empty();
            }
            values[i] = value.orElse(null);
        }
        try {
            Class<?>[] types = Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new);
            return Optional.of(type.getDeclaredConstructor(types).newInstance(values));
        } catch (InvocationTargetException e) {
            return Optional.empty(); // the record's own checks refused the values
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot construct " + type.getName(), e);
        }
    }

    /** The environment variable Micronaut reads for a record component's property. */
    static String variable(String prefix, String component) {
        return (prefix + "_" + component.replaceAll("([a-z0-9])([A-Z])", "$1_$2")).replace('.', '_').replace('-', '_')
                .toUpperCase(Locale.ROOT);
    }

    private static Optional<Object> convert(String text, Class<?> type) {
        try {
            if (type == String.class) {
                return Optional.of(text);
            }
            if (type == int.class || type == Integer.class) {
                return Optional.of(Integer.parseInt(text));
            }
            if (type == boolean.class || type == Boolean.class) {
                return text.equalsIgnoreCase("true") || text.equalsIgnoreCase("false")
                        ? Optional.of(Boolean.parseBoolean(text)) : Optional.empty();
            }
            if (type == Duration.class) {
                return Optional.of(duration(text));
            }
        } catch (NumberFormatException | DateTimeParseException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** Micronaut's forms: {@code 30s}, {@code 1500ms}, {@code 2m}, ..., or ISO-8601 with an upper-case {@code P}. */
    private static Duration duration(String text) {
        Matcher simple = DURATION.matcher(text);
        if (!simple.matches()) {
            if (!text.startsWith("P")) {
                throw new DateTimeParseException("not a duration Micronaut reads", text, 0);
            }
            return Duration.parse(text);
        }
        long amount = Long.parseLong(simple.group(1));
        return switch (simple.group(2)) {
            case "ms" -> Duration.ofMillis(amount);
            case "s" -> Duration.ofSeconds(amount);
            case "m" -> Duration.ofMinutes(amount);
            case "h" -> Duration.ofHours(amount);
            default -> Duration.ofDays(amount);
        };
    }

    /** The component's declared constraints, of those this class knows; a constraint it does not know fails. */
    private static boolean satisfies(RecordComponent component, Object value) {
        if (value == null && component.getType().isPrimitive()) {
            return false;
        }
        for (Annotation annotation : component.getAccessor().getAnnotations()) {
            Class<? extends Annotation> kind = annotation.annotationType();
            if (kind.getPackageName().equals(Min.class.getPackageName()) && !CHECKED.contains(kind)) {
                return false;
            }
            boolean holds = switch (annotation) {
                case NotNull ignored -> value != null;
                case NotBlank ignored -> value instanceof String s && !s.isBlank();
                // As in Jakarta Validation, null satisfies the others; @NotNull says where it may not be.
                case Min min -> !(value instanceof Number n) || n.longValue() >= min.value();
                case Max max -> !(value instanceof Number n) || n.longValue() <= max.value();
                case Pattern pattern -> !(value instanceof String s) || s.matches(pattern.regexp());
                default -> true;
            };
            if (!holds) {
                return false;
            }
        }
        return true;
    }
}
