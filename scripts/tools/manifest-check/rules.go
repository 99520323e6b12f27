package main

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// checkRules enforces what knllama needs beyond what Kubernetes and Knative validate: the couplings
// between the Service's settings and the function's, which no schema can see.
func checkRules(s knativeService, r rendered) error {
	configMaps := r.configMaps
	var problems []error
	fail := func(format string, args ...any) { problems = append(problems, fmt.Errorf("  "+format, args...)) }

	svc := s.svc
	spec := svc.Spec.Template.Spec
	ann := svc.Spec.Template.Annotations
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 1 {
		return fmt.Errorf("  expected one container (the function) and one init container (model-cache), found %d and %d",
			len(spec.Containers), len(spec.InitContainers))
	}
	fn, initc := spec.Containers[0], spec.InitContainers[0]
	fnEnv, err := resolveEnv(fn, configMaps)
	if err != nil {
		return err
	}
	initEnv, err := resolveEnv(initc, configMaps)
	if err != nil {
		return err
	}

	if ann["autoscaling.knative.dev/min-scale"] != "0" {
		fail("autoscaling.knative.dev/min-scale must be \"0\" (scale to zero), is %q", ann["autoscaling.knative.dev/min-scale"])
	}
	cc := int64(0)
	if spec.ContainerConcurrency != nil {
		cc = *spec.ContainerConcurrency
	}
	if cc <= 0 {
		fail("containerConcurrency must be set to the slot count (0 means unlimited)")
	}
	if slots := fnEnv["KNLLAMA_ENGINE_SLOTS"]; slots != strconv.FormatInt(cc, 10) {
		fail("KNLLAMA_ENGINE_SLOTS (%q) must equal containerConcurrency (%d)", slots, cc)
	}
	if target, err := strconv.ParseFloat(ann["autoscaling.knative.dev/target"], 64); err != nil || target > float64(cc) {
		fail("autoscaling.knative.dev/target (%q) must be a number no larger than containerConcurrency (%d)", ann["autoscaling.knative.dev/target"], cc)
	}
	cpu, hasCPU := fn.Resources.Limits[corev1.ResourceCPU]
	if !hasCPU || cpu.MilliValue()%1000 != 0 {
		fail("the function's CPU limit must be whole cores, to match KNLLAMA_ENGINE_THREADS")
	} else if threads := fnEnv["KNLLAMA_ENGINE_THREADS"]; threads != strconv.FormatInt(cpu.Value(), 10) {
		fail("KNLLAMA_ENGINE_THREADS (%q) must equal the CPU limit (%s)", threads, cpu.String())
	}
	if _, ok := fn.Resources.Limits[corev1.ResourceMemory]; !ok {
		fail("the function needs a memory limit (the model and KV cache are native memory)")
	}

	// The model: written by the init container into its writable mount, read by the function from
	// a read-only mount of the same claim.
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	modelPath := fnEnv["KNLLAMA_MODEL_PATH"]
	fnMount, ok := mountHolding(fn, modelPath)
	switch {
	case !ok:
		fail("KNLLAMA_MODEL_PATH %q is under none of the function's volume mounts", modelPath)
	case volumes[fnMount.Name].PersistentVolumeClaim == nil:
		fail("KNLLAMA_MODEL_PATH %q is not on a PersistentVolumeClaim", modelPath)
	case !fnMount.ReadOnly:
		fail("the function must mount the model volume read-only")
	default:
		initMount, ok := mountOf(initc, fnMount.Name)
		if !ok || initMount.ReadOnly {
			fail("the init container must mount volume %q writable", fnMount.Name)
		} else if initEnv["KNLLAMA_MODEL_DIR"] != initMount.MountPath {
			fail("the init container's KNLLAMA_MODEL_DIR (%q) must be its mount path of %q (%q)", initEnv["KNLLAMA_MODEL_DIR"], fnMount.Name, initMount.MountPath)
		}
		if rel := strings.TrimPrefix(modelPath, strings.TrimSuffix(fnMount.MountPath, "/")+"/"); rel != initEnv["KNLLAMA_MODEL_FILE"] {
			fail("KNLLAMA_MODEL_PATH %q does not name the file model-cache writes (KNLLAMA_MODEL_FILE %q)", modelPath, initEnv["KNLLAMA_MODEL_FILE"])
		}
	}

	// Timeouts. Knative's activator and queue-proxy apply the Revision's three timers to every
	// request (knative.dev/serving pkg/http/handler/timeout.go), and both the response-start and the
	// idle timer run from the request's arrival until its first byte. A non-streamed answer, and an
	// event's reply, write their first byte only when they are complete, so each timer must outlast
	// the longest time the function may stay silent; the function ends its own work before that.
	if err := checkTimeouts(svc, fnEnv); err != nil {
		problems = append(problems, err)
	}

	// No way around the API key: a Service without it (one that takes events from Triggers, which
	// cannot send a key) must be cluster-local and serve events only.
	_, hasKey := fnEnv["KNLLAMA_API_KEY"]
	eventsOnly := fnEnv["KNLLAMA_API_ROUTES"] == "events"
	if !hasKey && !(clusterLocal(svc) && eventsOnly) {
		fail("without KNLLAMA_API_KEY the Service must be cluster-local (label %s=cluster-local) and serve events only "+
			"(KNLLAMA_API_ROUTES=events): otherwise it is an open way around the public Service's key", visibilityLabel)
	}
	if eventsOnly && hasKey {
		fail("an events-only Service must not require KNLLAMA_API_KEY: Knative Eventing's Triggers cannot send it, " +
			"and Eventing does not retry the 401, so every event would go to the dead-letter sink")
	}

	// A Service without a key (the events Service) has nothing to watch: a token that may read Secrets would only
	// let its pods read the public Service's key.
	if !hasKey {
		if account, _, excess := secretAccess(r, spec.ServiceAccountName, ""); excess != "" {
			fail("without KNLLAMA_API_KEY the Service has no key to watch: service account %q must not read Secrets (%s), "+
				"or its pods could read the public Service's key", account, excess)
		}
	}

	// The key's Secret, watched (KNLLAMA_API_WATCHED_SECRET): it must be the Secret the key comes from, or a rotation
	// goes unseen, and the pod's service account must be allowed to get, list and watch it, or the watch fails
	// with 403 in every pod (the key read at start keeps working, so nothing else would show it).
	if watched, ok := fnEnv[watchedSecretVariable]; ok {
		// The function reads the entry KNLLAMA_API_KEY of the watched Secret (ApiKeySecretWatch.DATA_KEY).
		if ref := strings.TrimSuffix(fnEnv["KNLLAMA_API_KEY"], "?optional"); !hasKey || ref != "secret:"+watched+"/KNLLAMA_API_KEY" {
			fail("%s=%s must name the Secret whose entry KNLLAMA_API_KEY the key comes from (%q): a rotated key would go unseen",
				watchedSecretVariable, watched, fnEnv["KNLLAMA_API_KEY"])
		} else if account, missing, excess := secretAccess(r, spec.ServiceAccountName, watched); len(missing) > 0 {
			fail("service account %q may not %s Secret %q (%s): give it a Role with resourceNames [%s] and a RoleBinding",
				account, strings.Join(missing, ", "), watched, watchedSecretVariable, watched)
		} else if excess != "" {
			fail("service account %q may read Secrets other than %q (%s): a rule on secrets must name exactly that one "+
				"in resourceNames, since the pod's token can be read by everything in it", account, watched, excess)
		}
	}

	// The check record (model-cache/README.md): model-cache signs it with KNLLAMA_MODEL_RECORD_KEY and the
	// function verifies it with its own copy, so both must read the same Secret key, or the function never
	// trusts a record; optional, so that a Secret without the key turns the feature off instead of keeping
	// the pod from starting.
	initRecordKey, fnRecordKey := initEnv[recordKeyVariable], fnEnv[recordKeyVariable]
	switch {
	case !strings.HasPrefix(initRecordKey, "secret:") || !strings.HasPrefix(fnRecordKey, "secret:"):
		fail("%s must come from a Secret in both the init container (%q) and the function (%q): model-cache signs its "+
			"check record with it and the function verifies the record with it", recordKeyVariable, initRecordKey, fnRecordKey)
	case !strings.HasSuffix(initRecordKey, "?optional") || !strings.HasSuffix(fnRecordKey, "?optional"):
		fail("%s must be optional in both containers (init container %q, function %q): without it the check record is off, "+
			"and a required key would keep the pod from starting", recordKeyVariable, initRecordKey, fnRecordKey)
	case initRecordKey != fnRecordKey:
		fail("%s must come from the same Secret key in both containers (init container %q, function %q): with two keys "+
			"the function never trusts model-cache's check record", recordKeyVariable, initRecordKey, fnRecordKey)
	}

	// Guaranteed QoS, as Kubernetes computes it for the pod Knative builds (queue-proxy included):
	// the generation threads get whole cores, and the pod is the last to be evicted.
	if s.qos != corev1.PodQOSGuaranteed {
		fail("the pod Knative builds is %s, not Guaranteed: every container, queue-proxy (annotations "+
			"queue.sidecar.serving.knative.dev/{cpu,memory}-resource-{request,limit}) and the init container included, "+
			"needs CPU and memory requests equal to its limits", s.qos)
	}

	// Probes on the function's management endpoints; start-up must fit in the progress deadline.
	probePath := func(p *corev1.Probe) string {
		if p == nil || p.HTTPGet == nil {
			return ""
		}
		return p.HTTPGet.Path
	}
	if probePath(fn.ReadinessProbe) != "/health/readiness" {
		fail("the readiness probe must GET /health/readiness")
	}
	if probePath(fn.LivenessProbe) != "/health/liveness" || probePath(fn.StartupProbe) != "/health/liveness" {
		fail("the liveness and startup probes must GET /health/liveness")
	}
	if p := fn.StartupProbe; p != nil {
		window := time.Duration(p.InitialDelaySeconds+p.PeriodSeconds*p.FailureThreshold) * time.Second
		deadline, err := time.ParseDuration(ann["serving.knative.dev/progress-deadline"])
		if err != nil {
			deadline = 600 * time.Second // Knative's default
		}
		if window >= deadline {
			fail("the startup probe may take %v, not below the progress deadline %v", window, deadline)
		}
	}

	// Non-root and a read-only root filesystem, with /tmp writable for the JNI library.
	for _, c := range []corev1.Container{initc, fn} {
		sc := c.SecurityContext
		if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			fail("container %q must set runAsNonRoot and readOnlyRootFilesystem", c.Name)
		}
		if m, ok := mountHolding(c, "/tmp/x"); !ok || m.MountPath != "/tmp" || volumes[m.Name].EmptyDir == nil || m.ReadOnly {
			fail("container %q needs a writable emptyDir at /tmp (the root filesystem is read-only)", c.Name)
		}
	}
	return errors.Join(problems...)
}

// recordKeyVariable holds the key of model-cache's signed check record, in both containers.
const recordKeyVariable = "KNLLAMA_MODEL_RECORD_KEY"

// visibilityLabel makes a Knative Service reachable only inside the cluster.
const visibilityLabel = "networking.knative.dev/visibility"

func clusterLocal(svc *servingv1.Service) bool {
	return svc.Labels[visibilityLabel] == "cluster-local"
}

// silence is the longest the function behind svc may write nothing to a request: a non-streamed
// answer is bounded by KNLLAMA_ENGINE_REQUEST_TIMEOUT (counted from arrival, queueing included); on
// a Service that takes events a batch's reply by KNLLAMA_EVENTS_BATCH_TIMEOUT too.
func silence(fnEnv map[string]string) (time.Duration, error) {
	longest := time.Duration(0)
	keys := []string{"KNLLAMA_ENGINE_REQUEST_TIMEOUT", "KNLLAMA_EVENTS_BATCH_TIMEOUT"}
	for _, key := range keys {
		d, err := time.ParseDuration(fnEnv[key])
		if err != nil {
			return 0, fmt.Errorf("  %s %q is not a duration", key, fnEnv[key])
		}
		longest = max(longest, d)
	}
	return longest, nil
}

func checkTimeouts(svc *servingv1.Service, fnEnv map[string]string) error {
	var problems []error
	fail := func(format string, args ...any) { problems = append(problems, fmt.Errorf("  "+format, args...)) }
	spec := svc.Spec.Template.Spec
	longest, err := silence(fnEnv)
	if err != nil {
		return err
	}
	seconds := func(p *int64) time.Duration { return time.Duration(derefInt(p)) * time.Second }
	timeout, responseStart, idle := seconds(spec.TimeoutSeconds), seconds(spec.ResponseStartTimeoutSeconds), seconds(spec.IdleTimeoutSeconds)
	// 0 (or unset after Knative's defaulting) is no timer at all for response start and idle.
	if timeout <= longest {
		fail("timeoutSeconds (%v) must exceed the longest reply (%v: KNLLAMA_ENGINE_REQUEST_TIMEOUT, KNLLAMA_EVENTS_BATCH_TIMEOUT)", timeout, longest)
	}
	if responseStart != 0 && responseStart <= longest {
		fail("responseStartTimeoutSeconds (%v) must exceed the longest reply (%v): a non-streamed answer or an event's reply "+
			"writes its first byte only when it is complete", responseStart, longest)
	}
	if idle != 0 && idle <= longest {
		fail("idleTimeoutSeconds (%v) must be 0 (none) or exceed the longest reply (%v): Knative's idle timer runs from the "+
			"request's arrival, so it cuts every reply that takes longer to start", idle, longest)
	}
	grace, err := time.ParseDuration(fnEnv["KNLLAMA_SHUTDOWN_GRACE_PERIOD"])
	if err != nil || grace >= timeout {
		fail("KNLLAMA_SHUTDOWN_GRACE_PERIOD (%q) must be a duration below timeoutSeconds (%v), which Knative makes the pod's "+
			"terminationGracePeriodSeconds", fnEnv["KNLLAMA_SHUTDOWN_GRACE_PERIOD"], timeout)
	}
	request, _ := time.ParseDuration(fnEnv["KNLLAMA_ENGINE_REQUEST_TIMEOUT"])
	if wait, err := time.ParseDuration(fnEnv["KNLLAMA_ENGINE_MAX_QUEUE_WAIT"]); err != nil || wait >= request {
		fail("KNLLAMA_ENGINE_MAX_QUEUE_WAIT (%q) must be a duration below KNLLAMA_ENGINE_REQUEST_TIMEOUT (%v), which counts "+
			"from the request's arrival", fnEnv["KNLLAMA_ENGINE_MAX_QUEUE_WAIT"], request)
	}
	return errors.Join(problems...)
}

// resolveEnv gives a container's environment as the pod would see it, with ConfigMap references
// replaced by their values and Secret references shown as secret:NAME/KEY.
func resolveEnv(c corev1.Container, configMaps map[string]*corev1.ConfigMap) (map[string]string, error) {
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil {
			return nil, fmt.Errorf("container %q: only envFrom configMapRef is supported here", c.Name)
		}
		cm, ok := configMaps[from.ConfigMapRef.Name]
		if !ok {
			return nil, fmt.Errorf("container %q: ConfigMap %q is not among the rendered objects", c.Name, from.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			env[from.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, ok := configMaps[ref.Name]
			if !ok {
				return nil, fmt.Errorf("container %q: %s refers to ConfigMap %q, which is not among the rendered objects", c.Name, e.Name, ref.Name)
			}
			v, ok := cm.Data[ref.Key]
			if !ok && (ref.Optional == nil || !*ref.Optional) {
				return nil, fmt.Errorf("container %q: %s refers to key %q, which ConfigMap %q lacks", c.Name, e.Name, ref.Key, ref.Name)
			}
			env[e.Name] = v
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			optional := ""
			if ref.Optional != nil && *ref.Optional {
				optional = "?optional"
			}
			env[e.Name] = "secret:" + ref.Name + "/" + ref.Key + optional
		default:
			return nil, fmt.Errorf("container %q: %s: unsupported valueFrom", c.Name, e.Name)
		}
	}
	return env, nil
}

func mountHolding(c corev1.Container, file string) (corev1.VolumeMount, bool) {
	for _, m := range c.VolumeMounts {
		dir := strings.TrimSuffix(m.MountPath, "/")
		if strings.HasPrefix(path.Clean(file), dir+"/") {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}

func mountOf(c corev1.Container, volume string) (corev1.VolumeMount, bool) {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m, true
		}
	}
	return corev1.VolumeMount{}, false
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

const watchedSecretVariable = "KNLLAMA_API_WATCHED_SECRET"

// secretAccess says, for the service account (empty: the namespace's default, whose name it returns), which of
// get, list and watch on Secret name the rendered RoleBindings do not give it, and the first rule bound to it that
// reaches Secrets other than name (any Secret, for an empty name). Roles and RoleBindings of the same rendering only, all in one namespace; a
// RoleBinding to a ClusterRole counts as granting nothing (the manifests ship none).
func secretAccess(r rendered, account, name string) (string, []string, string) {
	if account == "" {
		account = "default"
	}
	granted := map[string]bool{}
	excess := ""
	for _, binding := range r.roleBindings {
		role, ok := r.roles[binding.RoleRef.Name]
		if binding.RoleRef.Kind != "Role" || !ok {
			continue
		}
		if !slices.ContainsFunc(binding.Subjects, func(subject rbacv1.Subject) bool {
			return subject.Kind == "ServiceAccount" && subject.Name == account &&
				(subject.Namespace == "" || subject.Namespace == binding.Namespace)
		}) {
			continue
		}
		for i, rule := range role.Rules {
			coreGroup := slices.Contains(rule.APIGroups, "") || slices.Contains(rule.APIGroups, "*")
			if !coreGroup || !(slices.Contains(rule.Resources, "secrets") || slices.Contains(rule.Resources, "*")) {
				continue
			}
			if !slices.Equal(rule.ResourceNames, []string{name}) {
				if excess == "" {
					excess = fmt.Sprintf("Role %s, rule %d: resourceNames %v", role.Name, i, rule.ResourceNames)
				}
				if len(rule.ResourceNames) > 0 && !slices.Contains(rule.ResourceNames, name) {
					continue
				}
			}
			for _, verb := range rule.Verbs {
				granted[verb] = true
			}
		}
	}
	var missing []string
	for _, verb := range []string{"get", "list", "watch"} {
		if !granted[verb] && !granted["*"] {
			missing = append(missing, verb)
		}
	}
	return account, missing, excess
}
