// lookups reaches for everything a Go program reads from the machine at run time — the resolver configuration,
// the time zone database, the CA bundle, the user database and the temp dir — and reports each result on one line.
// It never fails on a missing file: it exits 0 so a sandbox run shows "started" and lists what was missing.
// With -sleep it sleeps (timeout tests); with -write PATH it tries to create PATH; with -dial ADDR it tries TCP.
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
	sleep := flag.Duration("sleep", 0, "sleep this long first")
	write := flag.String("write", "", "try to create this file")
	dial := flag.String("dial", "", "try a TCP connection to this address")
	flag.Parse()
	if *sleep > 0 {
		time.Sleep(*sleep)
	}
	if *write != "" {
		err := os.WriteFile(*write, []byte("x"), 0o644)
		fmt.Println("write:", err)
	}
	if *dial != "" {
		c, err := net.DialTimeout("tcp", *dial, 2*time.Second)
		if err == nil {
			c.Close()
		}
		fmt.Println("dial:", err)
	}
	_, err := net.LookupHost("depfree-test.invalid")
	fmt.Println("dns:", err != nil)
	_, err = time.LoadLocation("Europe/Berlin")
	fmt.Println("zoneinfo:", err == nil)
	pool, err := x509.SystemCertPool()
	fmt.Println("certs:", err == nil && pool != nil && len(pool.Subjects()) > 0) //nolint:staticcheck
	_, err = user.Current()
	fmt.Println("user:", err == nil)
	fmt.Println("tmp:", os.TempDir())
}
