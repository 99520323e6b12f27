package io.knllama.auth;

import io.knllama.inference.ModelLoaded;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.event.ApplicationEventListener;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Says loudly that the API is open when the pod was told which Secret its key comes from but got no key: the
 * manifests read the key optionally, so a missing Secret (not created yet, or deleted while a pod started) starts a
 * pod that requires no key, and nothing else would show it.
 */
@Singleton
@Requires(property = ApiProperties.PREFIX + ".watched-secret")
@Requires(missingProperty = ApiProperties.PREFIX + ".key")
public final class OpenApiWarning implements ApplicationEventListener<ModelLoaded> {

    private static final Logger LOG = LoggerFactory.getLogger(OpenApiWarning.class);

    private final String secret;

    OpenApiWarning(ApiProperties properties) {
        this.secret = properties.watchedSecret();
    }

    @Override
    public void onApplicationEvent(ModelLoaded event) {
        LOG.error("The API is OPEN: KNLLAMA_API_WATCHED_SECRET names Secret '{}', but this pod started without {} (the Secret "
                + "or its entry was missing). Create it and roll a new revision; a key added later is not picked up "
                + "by this pod.", secret, "KNLLAMA_API_KEY");
    }
}
