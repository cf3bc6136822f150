// A cron-like Go job as most are written: its counter in the client's default registry (which also holds the Go and
// process collectors, process_start_time_seconds among them), pushed with the push package and no run header.
// Usage: go-default-registry <ingest url> <job> <instance> <value>
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: go-default-registry <url> <job> <instance> <value>")
		os.Exit(2)
	}
	value, err := strconv.ParseFloat(os.Args[4], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rows := prometheus.NewCounter(prometheus.CounterOpts{Name: "go_cron_rows_total", Help: "Rows a Go cron job processed."})
	prometheus.MustRegister(rows)
	rows.Add(value)
	if err := push.New(os.Args[1], os.Args[2]).Grouping("instance", os.Args[3]).Gatherer(prometheus.DefaultGatherer).Push(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
