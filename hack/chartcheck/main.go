// Command chartcheck checks a rendered irsa-guard chart against the binary, which helm-unittest
// cannot: the Deployment's args and config.yaml are accepted by the server's own flag set, strict
// config loader and validation, and ports and mounts agree with them. With -tls it also checks the
// generated TLS material: the Secret's certificate chains to its CA, names every DNS name and IP the
// API server may dial, and the webhook configurations trust exactly that CA.
//
//	helm template irsa-guard charts/irsa-guard -n irsa-guard > out.yaml
//	go run ./hack/chartcheck -f out.yaml -tls -dns irsa-guard.irsa-guard.svc -ip 127.0.0.1
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// listFlag collects a repeated string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	file := flag.String("f", "", "rendered chart (multi-document YAML)")
	var dns, ips listFlag
	flag.Var(&dns, "dns", "DNS name the serving certificate must hold (repeatable)")
	flag.Var(&ips, "ip", "IP address the serving certificate must hold (repeatable)")
	tls := flag.Bool("tls", false, "also check the chart-generated TLS Secret and the webhooks' caBundle")
	flag.Parse()
	if *file == "" {
		fmt.Fprintln(os.Stderr, "usage: chartcheck -f RENDERED.yaml [-tls [-dns NAME]... [-ip ADDR]...]")
		os.Exit(2)
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chartcheck:", err)
		os.Exit(2)
	}
	if err := checkServer(data); err != nil {
		fmt.Fprintf(os.Stderr, "chartcheck: %s: %v\n", *file, err)
		os.Exit(1)
	}
	if !*tls {
		fmt.Printf("chartcheck: %s: the server accepts the chart's args and config\n", *file)
		return
	}
	if err := checkTLS(data, dns, ips); err != nil {
		fmt.Fprintf(os.Stderr, "chartcheck: %s: %v\n", *file, err)
		os.Exit(1)
	}
	fmt.Printf("chartcheck: %s: the server accepts the chart's args and config; certificate valid for %s\n", *file, strings.Join(append(dns, ips...), ", "))
}
