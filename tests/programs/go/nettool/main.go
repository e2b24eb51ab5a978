// nettool imports the packages that make a Go binary need things from the machine: net (resolver, cgo when
// CGO_ENABLED=1), os/user (cgo getpwuid_r), crypto/tls + net/http (CA bundle), time.LoadLocation (zoneinfo) and
// os.TempDir. Run with no arguments it prints one line and exits 0 without touching the network or the files;
// -selftest does the local lookups; -fetch URL would make a real HTTPS request (never used by the tests).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"time"
)

func selftest() error {
	u, err := user.Current()
	if err != nil {
		return fmt.Errorf("user.Current: %w", err)
	}
	addrs, err := net.LookupHost("localhost")
	if err != nil {
		return fmt.Errorf("net.LookupHost: %w", err)
	}
	loc, err := time.LoadLocation("UTC")
	if err != nil {
		return fmt.Errorf("time.LoadLocation: %w", err)
	}
	fmt.Printf("user=%s localhost=%v tz=%s tmp=%s\n", u.Username, addrs, loc, os.TempDir())
	return nil
}

func fetch(url string) error {
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}},
	}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	return nil
}

func main() {
	self := flag.Bool("selftest", false, "look up the current user, localhost and a time zone")
	url := flag.String("fetch", "", "GET this https URL")
	flag.Parse()
	var err error
	switch {
	case *self:
		err = selftest()
	case *url != "":
		err = fetch(*url)
	default:
		fmt.Println("nettool ok")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "nettool:", err)
		os.Exit(1)
	}
}
