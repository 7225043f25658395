//go:build tools

// Package tools pins kwok, which fakes the nodes of the local control plane. It has a module of its
// own because kwok v0.7.0 builds against Kubernetes libraries v0.33, not the control plane's v0.34.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
