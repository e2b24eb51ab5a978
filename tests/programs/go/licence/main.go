// licence embeds text that mentions glibc without linking it, as SBOM tools and licence scanners do: the LGPL's
// "GNU C Library", a glibc.git URL and the name of a glibc environment variable. Built with CGO_ENABLED=0 it links
// no C library at all.
package main

import (
	_ "embed"
	"fmt"
	"os"
)

const lgpl = `This library is free software; you can redistribute it and/or modify it under the terms of the GNU
Lesser General Public License. The GNU C Library is distributed in the hope that it will be useful.`

const upstream = "https://sourceware.org/git/glibc.git"

func main() {
	if len(os.Args) > 1 {
		fmt.Println(lgpl, upstream, os.Getenv("GLIBC_TUNABLES"))
	}
}
