// A job using the Prometheus Go client's push package, unchanged, pointed at the relay's ingest.
// Usage: go run . <ingest url> <job> <instance> <value> [<run id>]
package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: go-push <url> <job> <instance> <value> [<run id>]")
		os.Exit(2)
	}
	value, err := strconv.ParseFloat(os.Args[4], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rows := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "go_job_rows_total", Help: "Rows a Go job processed."}, []string{"table"})
	rows.WithLabelValues("users").Add(value)
	pusher := push.New(os.Args[1], os.Args[2]).Grouping("instance", os.Args[3]).Collector(rows)
	if len(os.Args) > 5 {
		pusher = pusher.Header(http.Header{"Prom-Relay-Producer": []string{os.Args[5]}})
	}
	if err := pusher.Push(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
