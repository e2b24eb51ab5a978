// Package x is a module whose import path starts with "go." (like go.uber.org/zap or go.etcd.io/etcd), served by
// the file:// GOPROXY that tests/helpers/factory.py generates. Its functions are kept out of line so that they
// appear in the pclntab under the package's own name.
package x

import "go.example.org/x/trace"

// Span is a value with methods.
type Span struct{ name string }

//go:noinline
func New(name string) *Span { return &Span{name: trace.Tag(name)} }

//go:noinline
func (s *Span) Name() string { return "span " + s.name }

// Named embeds trace.Base, so passing it as a trace.Tagger needs the promoted method trace.Base.tag.
type Named struct{ trace.Base }

//go:noinline
func Describe(label string) string { return trace.Use(Named{trace.Base{Label: label}}) }
