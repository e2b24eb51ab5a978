// Package greeter v1.3.0: the next release of the module in ../goproxy, served only to withdeps-next (sbom --diff).
package greeter

// Greet returns a greeting for name.
func Greet(name string) string { return "hello again, " + name }
