//go:build tools

// Package tools pins the kn CLI that scripts/kn-*.sh and the manifest checks use, built from the
// Go module proxy by scripts/lib/tools.sh (no prebuilt binary is downloaded).
//
// knative.dev/client v0.42.0 (kn 1.15) is the newest release that builds from the proxy: from
// v0.43 on, cmd/kn needs the nested module knative.dev/client/pkg through a replace directive,
// and that module is not published on the proxy. kn talks to Serving through the stable
// serving.knative.dev/v1 API, so it manages the Serving version targeted here.
package tools

import _ "knative.dev/client/cmd/kn"
