// Package greeter is served by the file:// GOPROXY that tests/helpers/factory.py generates.
package greeter

// Greet returns a greeting for name.
func Greet(name string) string { return "hello, " + name }
