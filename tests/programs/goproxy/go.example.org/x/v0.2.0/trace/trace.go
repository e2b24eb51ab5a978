// Package trace is a sub-package of go.example.org/x.
package trace

//go:noinline
func Tag(s string) string { return "[" + s + "]" }

// Base has an unexported method; a type of another package that embeds Base and is used as a Tagger gets a
// promoted-method wrapper whose symbol names trace's path after the type: go.example.org/x.Named.go.example.org/x/trace.tag.
type Base struct{ Label string }

//go:noinline
func (b Base) tag() string { return "<" + b.Label + ">" }

// Tagger can only be implemented through Base.
type Tagger interface{ tag() string }

//go:noinline
func Use(t Tagger) string { return t.tag() }
