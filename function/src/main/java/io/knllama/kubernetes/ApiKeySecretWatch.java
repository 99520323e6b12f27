package io.knllama.kubernetes;

import io.knllama.auth.ApiKeys;
import io.knllama.auth.ApiProperties;
import io.knllama.inference.ModelLoaded;
import io.kubernetes.client.informer.ResourceEventHandler;
import io.kubernetes.client.informer.SharedInformerFactory;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.apis.CoreV1Api;
import io.kubernetes.client.openapi.models.V1Secret;
import io.kubernetes.client.openapi.models.V1SecretList;
import io.micronaut.context.BeanProvider;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.kubernetes.client.ApiClientConfiguration;
import io.micronaut.kubernetes.client.DefaultNamespaceResolver;
import io.micronaut.kubernetes.client.OkHttpClientLogging;
import okhttp3.OkHttpClient;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Watches the Secret that {@code KNLLAMA_API_KEY} comes from ({@code KNLLAMA_API_WATCHED_SECRET}) and makes a changed
 * key the one in force, so a key rotates without a new revision (an environment variable from a Secret is read
 * once, when the container starts).
 *
 * <p>Started {@code KNLLAMA_API_WATCH_DELAY} after the model is loaded, never before: the Kubernetes
 * client (its HTTP stack, its models) stays off the path to the first token. It watches one Secret by name ({@code fieldSelector=metadata.name=…}), so the
 * service account needs {@code get}, {@code list} and {@code watch} on that Secret alone ({@code resourceNames}),
 * not on every Secret in the namespace. Until the watch is up, and whenever the API cannot be reached, the key read
 * at start (or the last one seen) stays in force.
 */
@Singleton
@Requires(property = ApiProperties.PREFIX + ".watched-secret")
@Requires(beans = ApiKeys.class)
final class ApiKeySecretWatch implements ApplicationEventListener<ModelLoaded> {

    /** The Secret's entry that holds the key: the same name as the variable the manifests fill from it. */
    static final String DATA_KEY = "KNLLAMA_API_KEY";

    private static final Logger LOG = LoggerFactory.getLogger(ApiKeySecretWatch.class);

    private final ApiKeys keys;
    private final String secret;
    private final BeanProvider<ApiClient> client;
    private final BeanProvider<ApiClientConfiguration> configuration;
    private final Duration delay;
    private final ScheduledExecutorService starter = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("kubernetes-watch-start").daemon().factory());
    /** The informer's: it keeps a thread each for its list-and-watch loop, its queue and its handlers. */
    private final ExecutorService threads = Executors.newCachedThreadPool(
            Thread.ofPlatform().name("kubernetes-watch-", 0).daemon().factory());
    private SharedInformerFactory informers;
    private volatile boolean stopping;
    private volatile String lastFailure;

    ApiKeySecretWatch(ApiKeys keys, ApiProperties properties,
                      BeanProvider<ApiClient> client, BeanProvider<ApiClientConfiguration> configuration) {
        this.keys = keys;
        this.secret = properties.watchedSecret();
        this.delay = properties.watchDelay();
        this.client = client;
        this.configuration = configuration;
    }

    @Override
    public void onApplicationEvent(ModelLoaded event) {
        // Not on the loader's thread, and not at once: creating the client loads a few thousand classes, a few
        // hundred milliseconds of CPU that would otherwise slow the first request of a pod scaled from zero.
        starter.schedule(this::start, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private synchronized void start() {
        if (informers != null || stopping) {
            return;
        }
        try {
            watch(namespace(), client.get());
        } catch (IOException | RuntimeException | LinkageError e) {
            // LinkageError: a kubeconfig with client certificates needs BouncyCastle, which the build leaves out
            // (a pod authenticates with its service account's token).
            LOG.warn("Cannot watch Secret '{}' for the API key ({}). The key read at start stays in force.", secret, e.toString());
        }
    }

    private void watch(String namespace, ApiClient api) {
        // A watch is a response that stays open for minutes. The informer refuses a client with a read timeout and
        // bounds each watch itself (a client-side timeout of 5 to 10 minutes), so a connection that dies silently (a
        // vanished peer, a dropped NAT entry) is replaced within 10 minutes.
        // Without micronaut-kubernetes' request logger, which logs the watch that stop() interrupts as an ERROR.
        OkHttpClient.Builder http = api.getHttpClient().newBuilder().readTimeout(Duration.ZERO);
        http.interceptors().removeIf(OkHttpClientLogging.class::isInstance);
        api.setHttpClient(http.build());
        CoreV1Api core = new CoreV1Api(api);
        informers = new SharedInformerFactory(api, threads);
        informers.sharedIndexInformerFor(
                params -> core.listNamespacedSecret(namespace)
                        .fieldSelector("metadata.name=" + secret)
                        .resourceVersion(params.resourceVersion)
                        .watch(params.watch)
                        .timeoutSeconds(params.timeoutSeconds)
                        .buildCall(null),
                V1Secret.class, V1SecretList.class, 0L, (type, failure) -> failed(namespace, failure))
                .addEventHandler(new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(V1Secret added) {
                        take(added);
                    }

                    @Override
                    public void onUpdate(V1Secret before, V1Secret after) {
                        take(after);
                    }

                    @Override
                    public void onDelete(V1Secret deleted, boolean finalStateUnknown) {
                        LOG.warn("Secret '{}/{}' was deleted: the API key in force stays until the Secret is back",
                                namespace, secret);
                    }
                });
        informers.startAllRegisteredInformers();
        LOG.info("Watching Secret '{}/{}' for the API key ({})", namespace, secret, DATA_KEY);
    }

    /**
     * {@code kubernetes.client.namespace}, else the pod's own (the service account's namespace file). Not
     * micronaut-kubernetes' resolver: that one exists only where Micronaut deduced the Kubernetes environment, and
     * falls back to {@code default}, which would watch the wrong Secret.
     */
    private String namespace() throws IOException {
        Optional<String> configured = configuration.get().getNamespace();
        return configured.isPresent() ? configured.get()
                : Files.readString(Path.of(DefaultNamespaceResolver.NAMESPACE_PATH), StandardCharsets.UTF_8).strip();
    }

    private void take(V1Secret found) {
        lastFailure = null;
        Map<String, byte[]> data = found.getData();
        byte[] value = data == null ? null : data.get(DATA_KEY);
        // The informer hands over only objects it could key by their metadata: it is there.
        String source = "Secret '%s/%s' (resourceVersion %s)".formatted(
                found.getMetadata().getNamespace(), secret, found.getMetadata().getResourceVersion());
        keys.replace(value == null ? null : new String(value, StandardCharsets.UTF_8), source);
    }

    /** The informer retries on its own; say what went wrong once per kind of failure, not once a second. */
    private void failed(String namespace, Throwable failure) {
        if (stopping) {
            return;
        }
        String reason = failure instanceof ApiException api && api.getCode() != 0
                ? "HTTP " + api.getCode() + (api.getCode() == 403
                        ? " (the service account needs get, list and watch on this Secret)" : "")
                : String.valueOf(failure);
        if (!reason.equals(lastFailure)) {
            lastFailure = reason;
            LOG.warn("Cannot watch Secret '{}/{}' for the API key: {}. Retrying; the key in force stays.",
                    namespace, secret, reason);
        }
    }

    @PreDestroy
    synchronized void stop() {
        stopping = true;
        if (informers != null) {
            informers.stopAllRegisteredInformers(true);
        }
        starter.shutdownNow();
        threads.shutdownNow();
    }
}
