// Package localdep is replaced by a directory in withdeps/go.mod.
package localdep

// Name is who gets greeted.
func Name() string { return "localdep" }
