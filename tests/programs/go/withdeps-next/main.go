// withdeps-next is the next release of withdeps for `depfree sbom --diff`: example.com/greeter moves to v1.3.0
// (served by tests/programs/goproxy-next) and os/user is used, so a cgo build links the C library.
package main

import (
	"fmt"
	"os/user"

	"example.com/greeter"
	"example.com/localdep"
)

func main() {
	who := localdep.Name()
	if u, err := user.Current(); err == nil {
		who += " and " + u.Username
	}
	fmt.Println(greeter.Greet(who))
}
