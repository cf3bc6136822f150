// One run of a Go job pushing a registry of its own (no process collector, so no process_start_time_seconds) with the
// Go client's push package after each step, as its documentation shows for batch jobs.
// Usage: go-own-registry <ingest url> <job> <rows per step> <steps> [<instance>]
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: go-own-registry <url> <job> <rows per step> <steps> [<instance>]")
		os.Exit(2)
	}
	step, err := strconv.ParseFloat(os.Args[3], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	steps, err := strconv.Atoi(os.Args[4])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rows := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "go_own_rows_total", Help: "Rows a Go job processed."}, []string{"table"})
	pusher := push.New(os.Args[1], os.Args[2]).Collector(rows)
	if len(os.Args) > 5 {
		pusher = pusher.Grouping("instance", os.Args[5])
	}
	for i := 0; i < steps; i++ {
		rows.WithLabelValues("users").Add(step)
		if err := pusher.Push(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
