//go:build tools

// Package tools pins the reference kustomize (the conformance corpus was made with v5.5.0).
package tools

import _ "sigs.k8s.io/kustomize/kustomize/v5"
