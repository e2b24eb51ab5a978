// withdeps has one dependency from a module proxy (example.com/greeter v1.2.3, so build info records its h1: sum)
// and one replaced by a local directory (example.com/localdep => ./localdep).
package main

import (
	"fmt"

	"example.com/greeter"
	"example.com/localdep"
)

func main() {
	fmt.Println(greeter.Greet(localdep.Name()))
}
