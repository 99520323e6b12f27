// Command manifest-check validates knllama's rendered Kubernetes manifests offline, with the same
// code a cluster would run on them, and compares a Service written by `kn` with the rendered one.
//
//	manifest-check validate --features config-features.yaml rendered.yaml
//	manifest-check compare rendered.yaml kn-service.yaml
//	manifest-check compare-events rendered-eventing.yaml recorded-kn-commands.txt NAMESPACE
//
// validate, for every object in rendered.yaml:
//   - decodes it strictly (unknown or duplicate fields are errors, as with kubectl's
//     --validate=strict) into the Go type the API server uses;
//   - ConfigMap, PersistentVolumeClaim, Secret: runs Kubernetes' own API validation
//     (k8s.io/kubernetes/pkg/apis/core/validation);
//   - serving.knative.dev/v1 Service: applies Knative's defaults and runs Knative's webhook
//     validation with the feature flags of the given config-features patch (so a Service that needs
//     a flag the patch does not enable fails here as it would in the cluster), then builds the
//     Deployment Knative's revision reconciler would create and runs Kubernetes' Deployment
//     validation on it;
//   - checks knllama's own rules (rules.go): slots == containerConcurrency, threads == CPU limit,
//     the model path on the read-only mount, timeouts below Knative's, and so on.
//
// It exits 1 with every problem listed, or 0 printing a one-line summary per object.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	// Knative's Deployment builder reads the namespace Knative runs in, as its pods do.
	if os.Getenv("SYSTEM_NAMESPACE") == "" {
		os.Setenv("SYSTEM_NAMESPACE", "knative-serving")
	}
	var err error
	switch os.Args[1] {
	case "validate":
		if len(os.Args) != 5 || os.Args[2] != "--features" {
			usage()
		}
		err = validateFile(os.Args[3], os.Args[4])
	case "compare":
		if len(os.Args) != 4 {
			usage()
		}
		err = compareFiles(os.Args[2], os.Args[3])
	case "compare-events":
		if len(os.Args) != 5 {
			usage()
		}
		err = compareEvents(os.Args[2], os.Args[3], os.Args[4])
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
		"       manifest-check compare rendered.yaml kn-service.yaml\n"+
		"       manifest-check compare-events rendered-eventing.yaml recorded-kn-commands.txt NAMESPACE")
	os.Exit(2)
}
