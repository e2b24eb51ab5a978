// shipit is the program `depfree build` builds in every variant: it uses the four standard packages whose build
// mode changes what the binary needs from the machine — net (the cgo or the pure-Go resolver), os/user (getpwuid_r
// through cgo, or /etc/passwd), crypto/x509 (the system CA bundle) and time (the zoneinfo database). It prints one
// line per lookup and exits 0 whatever is missing, so a sandbox run shows whether it started and what it reached for.
// With -fail it exits 1 when the CA bundle is missing (to make a run fail on purpose).
package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"os/user"
	"time"
)

func main() {
	fail := flag.Bool("fail", false, "exit 1 when no CA bundle is found")
	flag.Parse()
	addrs, err := net.LookupHost("localhost")
	fmt.Println("localhost:", err == nil && len(addrs) > 0)
	u, err := user.Current()
	fmt.Println("user:", err == nil && u.Uid != "")
	pool, err := x509.SystemCertPool()
	certs := err == nil && pool != nil && !pool.Equal(x509.NewCertPool())
	fmt.Println("certs:", certs)
	_, err = time.LoadLocation("Europe/Berlin")
	fmt.Println("zoneinfo:", err == nil)
	if *fail && !certs {
		os.Exit(1)
	}
}
