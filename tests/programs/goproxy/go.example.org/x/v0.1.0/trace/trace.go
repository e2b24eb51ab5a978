// Package trace is a sub-package of go.example.org/x.
package trace

//go:noinline
func Tag(s string) string { return "[" + s + "]" }
