// A job pushing native histograms with the Prometheus Go client's push package, unchanged: what the relay's ingest
// reads as the protobuf delimited format. Usage: go run ./native <url> <job> <instance> [<pushes>]
// (<pushes>: how many times this process pushes its registry, 1 by default)
// Observations (the test computes the expected buckets from the same list):
//
//	go_job_latency_seconds{stage="load"}: native only (NativeHistogramBucketFactor 1.1, schema 3)
//	go_job_latency_seconds{stage="save"}: native and classic buckets 0.01, 0.1, 1, 10
//	go_job_idle_seconds: native, no observations (the client's no-op span)
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

var load = []float64{0, 0.0013, 0.0042, 0.0042, 0.031, 0.25, 0.25, 0.25, 1, 1.7, 2.5, 60, -0.3}
var save = []float64{0.005, 0.07, 0.07, 0.4, 3}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: native <url> <job> <instance>")
		os.Exit(2)
	}
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:                        "go_job_latency_seconds",
		Help:                        "Stage latency.",
		NativeHistogramBucketFactor: 1.1,
	}, []string{"stage"})
	withClassic := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                        "go_job_save_seconds",
		Help:                        "Save latency.",
		Buckets:                     []float64{0.01, 0.1, 1, 10},
		NativeHistogramBucketFactor: 1.1,
	})
	idle := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:                         "go_job_idle_seconds",
		Help:                         "Idle time.",
		NativeHistogramBucketFactor:  1.1,
		NativeHistogramZeroThreshold: prometheus.NativeHistogramZeroThresholdZero,
	})
	rows := prometheus.NewCounter(prometheus.CounterOpts{Name: "go_job_rows_total", Help: "Rows."})
	rows.Add(42)
	for _, v := range load {
		latency.WithLabelValues("load").Observe(v)
	}
	for _, v := range save {
		withClassic.Observe(v)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(latency, withClassic, idle, rows)
	pushes := 1
	if len(os.Args) > 4 {
		n, err := strconv.Atoi(os.Args[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		pushes = n
	}
	for i := 0; i < pushes; i++ {
		if err := push.New(os.Args[1], os.Args[2]).Grouping("instance", os.Args[3]).Gatherer(registry).Push(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
