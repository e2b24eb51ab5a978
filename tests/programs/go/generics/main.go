// generics: generic functions and methods, closures and a package whose last path element has a dot (kit.v2), so
// function names carry type arguments in brackets, ".funcN" suffixes and the linker's %2e escape.
package main

import (
	"fmt"
	"os"

	"example.com/generics/kit.v2"
)

type Box[T any] struct{ v T }

//go:noinline
func (b *Box[T]) Get() T { return b.v }

func main() {
	b := &Box[string]{v: os.Args[0]}
	f := func() int { return len(b.Get()) }
	fmt.Println(kit.Map([]int{1, 2, 3}, func(i int) int { return i * f() }), kit.Counter{}.Next())
}
