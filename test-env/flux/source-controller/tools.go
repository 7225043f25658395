//go:build tools

// Package tools pins Flux's source-controller, run by scripts/bench-flux as the peer in the
// side-by-side benchmark of BENCHMARKS.md (never by the tests).
package tools

import _ "github.com/fluxcd/source-controller"
