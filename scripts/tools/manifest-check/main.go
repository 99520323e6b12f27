// Command manifest-check checks knllama's rendered Kubernetes manifests offline, with the same code a
// cluster would run on them, and derives from them what Knative's own code would give a pod.
//
//	manifest-check validate --features config-features.yaml rendered.yaml
//	manifest-check queue-env --features config-features.yaml [--time-divisor N] [--user-port P] rendered.yaml SERVICE
//	manifest-check min-kubernetes
//
// validate, for every object in rendered.yaml:
//   - decodes it strictly (unknown or duplicate fields are errors, as with kubectl's
//     --validate=strict) into the Go type the API server uses;
//   - ConfigMap, PersistentVolumeClaim, Secret, NetworkPolicy: runs Kubernetes' own API validation
//     (k8s.io/kubernetes/pkg/apis/.../validation);
//   - serving.knative.dev/v1 Service: applies Knative's defaults and runs Knative's webhook
//     validation with the feature flags of the given config-features patch (so a Service that needs
//     a flag the patch does not enable fails here as it would in the cluster), then builds the
//     Deployment Knative's revision reconciler would create, runs Kubernetes' Deployment validation
//     on it and computes its pod's QoS class with Kubernetes' own code;
//   - Knative Eventing's Broker, Trigger, PingSource, SinkBinding: Eventing's defaulting and validation;
//   - checks knllama's own rules (rules.go, events.go): slots == containerConcurrency, threads == CPU
//     limit, a Guaranteed pod, every Knative timeout longer than the longest reply the function can
//     be silent for, Triggers delivering only to a cluster-local events-only Service, and so on.
//
// queue-env prints, as JSON, what queue-proxy gets in the pod Knative builds for SERVICE's first
// Revision: its environment (downward-API fields filled in for a pod on 127.0.0.1), its readiness
// probe, and the preStop hook Knative gives the user container; plus the function container's
// resolved environment. --time-divisor divides every Revision timeout and every duration in the
// function's environment by N (rounding up), so a test can run the deployment's timing in seconds;
// --user-port moves the function's container port, as if the manifest said so.
//
// min-kubernetes prints the oldest Kubernetes that the Knative libraries built in here accept
// (knative.dev/pkg's DefaultKubernetesMinVersion): Knative's controllers exit on an older cluster.
//
// Each command exits 1 with every problem listed.
package main

import (
	"flag"
	"fmt"
	"os"

	"knative.dev/pkg/version"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	// Knative's Deployment builder gives queue-proxy the namespace Serving runs in (system.Namespace()).
	// Set unconditionally: knative.dev/eventing's messaging/v1 imports knative.dev/pkg/system/testing,
	// whose init() has already set "knative-testing" by now.
	os.Setenv("SYSTEM_NAMESPACE", "knative-serving")
	var err error
	switch os.Args[1] {
	case "validate":
		flags := flag.NewFlagSet("validate", flag.ExitOnError)
		features := flags.String("features", "", "config-features patch")
		flags.Parse(os.Args[2:])
		if *features == "" || flags.NArg() != 1 {
			usage()
		}
		err = validateFile(*features, flags.Arg(0))
	case "queue-env":
		flags := flag.NewFlagSet("queue-env", flag.ExitOnError)
		features := flags.String("features", "", "config-features patch")
		divisor := flags.Int64("time-divisor", 1, "divide every timeout by this")
		userPort := flags.Int("user-port", 0, "the function's container port (default: the manifest's)")
		flags.Parse(os.Args[2:])
		if *features == "" || flags.NArg() != 2 || *divisor < 1 {
			usage()
		}
		err = printQueueEnv(*features, flags.Arg(0), flags.Arg(1), *divisor, int32(*userPort))
	case "min-kubernetes":
		fmt.Println(version.DefaultKubernetesMinVersion)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: manifest-check validate --features config-features.yaml rendered.yaml\n"+
		"       manifest-check queue-env --features config-features.yaml [--time-divisor N] [--user-port P] rendered.yaml SERVICE\n"+
		"       manifest-check min-kubernetes")
	os.Exit(2)
}
