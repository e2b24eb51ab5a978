// dotdeps depends on a module whose import path starts with "go." (go.example.org/x from the test GOPROXY): its
// packages must be counted as a dependency's, not as the runtime's compiler-generated "go." symbols.
package main

import (
	"fmt"

	"go.example.org/x"
)

func main() {
	fmt.Println(x.New("dotdeps").Name(), x.Describe("named"))
}
