/**
 * What the function asks of the Kubernetes API, all of it after the model is loaded so that a pod scaling from
 * zero never waits for it: the API key's Secret, watched so a rotated key takes effect without a new revision.
 * Through micronaut-kubernetes' client (the official Kubernetes Java client, configured from the pod's service
 * account), created lazily on {@link io.knllama.inference.ModelLoaded}.
 */
package io.knllama.kubernetes;
