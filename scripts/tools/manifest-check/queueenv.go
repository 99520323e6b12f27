package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// podIP (also the host's IP) and podName stand in for the downward-API fields of a pod running on this machine.
const (
	podIP   = "127.0.0.1"
	podName = "knllama-local"
)

type probe struct {
	Port    int               `json:"port"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
}

type queueEnv struct {
	Service              string            `json:"service"`
	ContainerConcurrency int64             `json:"containerConcurrency"`
	QueueEnv             map[string]string `json:"queueEnv"`
	QueueReadiness       probe             `json:"queueReadiness"`
	PreStop              probe             `json:"preStop"`
	FunctionPort         int32             `json:"functionPort"`
	FunctionEnv          map[string]string `json:"functionEnv"`
}

// printQueueEnv prints what the pod Knative builds for the named Service gives queue-proxy and the
// function (see main.go), after dividing the Service's timing by divisor.
func printQueueEnv(featuresPath, renderedPath, name string, divisor int64, userPort int32) error {
	features, err := loadFeatures(featuresPath)
	if err != nil {
		return err
	}
	docs, err := readDocuments(renderedPath)
	if err != nil {
		return err
	}
	configMaps := map[string]*corev1.ConfigMap{}
	var svc *servingv1.Service
	var svcDoc document
	for _, doc := range docs {
		switch doc.apiVersion + " " + doc.kind {
		case "v1 ConfigMap":
			var cm corev1.ConfigMap
			if err := decodeStrict(doc, &cm); err != nil {
				return err
			}
			configMaps[cm.Name] = &cm
		case "serving.knative.dev/v1 Service":
			if doc.name == name {
				svc, svcDoc = &servingv1.Service{}, doc
				if err := decodeStrict(doc, svc); err != nil {
					return err
				}
			}
		}
	}
	if svc == nil {
		return fmt.Errorf("%s: no serving.knative.dev/v1 Service named %q", renderedPath, name)
	}
	compressTime(svc, divisor)
	if userPort != 0 {
		fn := &svc.Spec.Template.Spec.Containers[0]
		fn.Ports[0].ContainerPort = userPort
		// Knative fills in the readiness and liveness probes' port, but copies a startup probe as it is.
		if p := fn.StartupProbe; p != nil && p.HTTPGet != nil {
			p.HTTPGet.Port = intstr.FromInt32(userPort)
		}
	}
	dep, err := validateService(svcDoc, svc, features)
	if err != nil {
		return err
	}
	out := queueEnv{Service: name, ContainerConcurrency: derefInt(svc.Spec.Template.Spec.ContainerConcurrency)}
	pod := dep.Spec.Template.Spec
	var queue, fn *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == "queue-proxy" {
			queue = &pod.Containers[i]
		} else if fn == nil {
			fn = &pod.Containers[i]
		}
	}
	if queue == nil || fn == nil {
		return fmt.Errorf("Knative's Deployment for %s has no queue-proxy or no user container", name)
	}
	if out.QueueEnv, err = downwardEnv(*queue, name); err != nil {
		return err
	}
	if out.QueueReadiness, err = httpProbe(queue.ReadinessProbe.ProbeHandler.HTTPGet, "queue-proxy's readiness probe"); err != nil {
		return err
	}
	if fn.Lifecycle == nil || fn.Lifecycle.PreStop == nil {
		return fmt.Errorf("Knative gave the user container no preStop hook")
	}
	if out.PreStop, err = httpProbe(fn.Lifecycle.PreStop.HTTPGet, "the user container's preStop hook"); err != nil {
		return err
	}
	out.FunctionPort = fn.Ports[0].ContainerPort
	env, err := resolveEnv(*fn, configMaps)
	if err != nil {
		return err
	}
	out.FunctionEnv = map[string]string{}
	for k, v := range env {
		if !strings.HasPrefix(v, "secret:") { // a Secret's value is not in the manifests
			out.FunctionEnv[k] = v
		}
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", "  ")
	return encoder.Encode(out)
}

// durationValue is an environment value the function reads as a duration (570s, 30s, 1m…).
var durationValue = regexp.MustCompile(`^[0-9]+(ms|s|m|h)$`)

// compressTime divides the Revision's timeouts and every duration in the function's environment by
// divisor, rounding up, so the deployment's timing keeps its proportions in seconds instead of minutes.
func compressTime(svc *servingv1.Service, divisor int64) {
	if divisor == 1 {
		return
	}
	spec := &svc.Spec.Template.Spec
	for _, p := range []*int64{spec.TimeoutSeconds, spec.ResponseStartTimeoutSeconds, spec.IdleTimeoutSeconds} {
		if p != nil {
			*p = (*p + divisor - 1) / divisor
		}
	}
	for i := range spec.Containers[0].Env {
		e := &spec.Containers[0].Env[i]
		if e.ValueFrom == nil && durationValue.MatchString(e.Value) {
			d, _ := time.ParseDuration(e.Value)
			e.Value = fmt.Sprintf("%dms", (d.Milliseconds()+divisor-1)/divisor)
		}
	}
}

// downwardEnv is a container's environment with its downward-API fields filled in as a pod on this
// machine would have them.
func downwardEnv(c corev1.Container, service string) (map[string]string, error) {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = podName
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = namespace
		case e.ValueFrom.FieldRef != nil && (e.ValueFrom.FieldRef.FieldPath == "status.podIP" || e.ValueFrom.FieldRef.FieldPath == "status.hostIP"):
			env[e.Name] = podIP
		default:
			return nil, fmt.Errorf("%s: %s: no local value for %+v", c.Name, e.Name, *e.ValueFrom)
		}
	}
	return env, nil
}

func httpProbe(get *corev1.HTTPGetAction, what string) (probe, error) {
	if get == nil {
		return probe{}, fmt.Errorf("%s is not an HTTP GET", what)
	}
	p := probe{Port: get.Port.IntValue(), Path: get.Path, Headers: map[string]string{}}
	for _, h := range get.HTTPHeaders {
		p.Headers[h.Name] = h.Value
	}
	return p, nil
}
