package io.knllama.request;

import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.error.Echo;
import io.knllama.inference.GenerationRequest.ChatMessage.Role;

import java.util.List;
import java.util.Map;

/**
 * Message roles, as both APIs name them, mapped onto the engine's. Tool turns ({@code tool}, OpenAI's older
 * {@code function}) are refused by name: no API here calls tools, so a conversation holding their results
 * cannot be continued faithfully.
 */
public final class ChatRoles {

    private static final Map<String, Role> ROLES = Map.of("system", Role.SYSTEM, "developer", Role.SYSTEM,
            "user", Role.USER, "assistant", Role.ASSISTANT);
    private static final List<String> TOOL_ROLES = List.of("tool", "function");

    private ChatRoles() {
    }

    /**
     * The {@code role} of {@code message}, one of {@code names} (the API's own role names, in the order its
     * documentation lists them); a tool role among them is refused as unsupported.
     */
    public static Role read(RequestFields message, List<String> names) {
        String role = message.requiredString("role");
        if (names.contains(role) && TOOL_ROLES.contains(role)) {
            throw new ApiException(new ApiError.Unsupported(message.path("role"),
                    "Tool messages are not supported: this server does not call tools."));
        }
        if (!names.contains(role) || !ROLES.containsKey(role)) {
            List<String> valid = names.stream().filter(ROLES::containsKey).map(name -> "'" + name + "'").toList();
            throw RequestFields.invalid(message.path("role"), "Invalid value for '%s': '%s' is not one of %s."
                    .formatted(message.path("role"), Echo.of(role), String.join(", ", valid)), "invalid_value");
        }
        return ROLES.get(role);
    }
}
