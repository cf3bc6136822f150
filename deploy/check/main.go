// Command check verifies prom-relay's deployment files where no cluster, engine or Prometheus server runs.
//
//	check kubernetes FILE...   decode every object strictly against the Kubernetes API types (unknown or duplicate
//	                           fields are errors), then check how the objects fit together; "-" reads stdin
//	                           (e.g. the output of `kubectl kustomize`). Prints a JSON summary.
//	check promql-names         read a JSON array of PromQL expressions on stdin; print, for each, the metric names
//	                           its selectors use (or its parse error), as JSON.
//
// Exit status: 0 when everything checked, 1 with one line per problem on stderr, 2 on usage errors.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "kubernetes":
		if len(os.Args) < 3 {
			usage()
		}
		err = checkKubernetes(os.Args[2:], os.Stdout)
	case "promql-names":
		err = promqlNames(os.Stdin, os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: check kubernetes FILE... | check promql-names < expressions.json")
	os.Exit(2)
}
