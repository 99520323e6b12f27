//go:build tools

// Knative's queue-proxy is built from this module too (go build knative.dev/serving/cmd/queue), so it
// is the very Serving release the manifests are validated against; this import keeps its
// dependencies in go.mod and go.sum.
package main

import _ "knative.dev/serving/cmd/queue"
