// Command k6 is k6 (go.k6.io/k6, pinned in go.mod) with one extension compiled in: k6/x/sse (sse.go), a
// streamed POST that timestamps each server-sent event as it arrives. scripts/k6/install.sh builds it from
// the Go module proxy.
//
// Why an extension: k6's own http module reads a streamed answer whole, so it cannot see time to first token
// or the gaps between tokens; the community extension for it (xk6-sse) is not served by the module proxy
// this project builds from, and k6 v1.8.1 has no SSE module of its own.
package main

import k6cmd "go.k6.io/k6/cmd"

func main() {
	k6cmd.Execute()
}
