//go:build tools

// Package tools pins the reference jsonnet (go-jsonnet), which moor-render runs for Jsonnet
// directories as Argo CD does (Argo CD links the same module).
package tools

import _ "github.com/google/go-jsonnet/cmd/jsonnet"
