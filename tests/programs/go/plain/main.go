// plain: the smallest Go program; no cgo-capable package is imported.
package main

import "fmt"

func main() {
	fmt.Println("hello from plain")
}
