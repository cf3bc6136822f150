// A job setting exemplars with the Prometheus Go client (prometheus.ExemplarAdder, prometheus.ExemplarObserver),
// pushed with its push package, unchanged: the protobuf delimited format carries them.
// Usage: exemplars <url> <job> <instance> <trace>
//
//	go_job_ex_rows_total{table="users"}: Add(5) with {trace_id="<trace>-rows"}
//	go_job_ex_seconds (classic buckets 0.1, 1): 0.05 with {trace_id="<trace>-fast"}, 0.5 with {trace_id="<trace>-slow"}
//	go_job_ex_native_seconds (native only, NativeHistogramBucketFactor 1.1): 0.25 with {trace_id="<trace>-native"}
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: exemplars <url> <job> <instance> <trace>")
		os.Exit(2)
	}
	trace := os.Args[4]
	rows := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "go_job_ex_rows_total", Help: "Rows."}, []string{"table"})
	classic := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "go_job_ex_seconds", Help: "Latency.", Buckets: []float64{0.1, 1}})
	native := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "go_job_ex_native_seconds", Help: "Latency.", NativeHistogramBucketFactor: 1.1})

	rows.WithLabelValues("users").(prometheus.ExemplarAdder).AddWithExemplar(5, prometheus.Labels{"trace_id": trace + "-rows"})
	classic.(prometheus.ExemplarObserver).ObserveWithExemplar(0.05, prometheus.Labels{"trace_id": trace + "-fast"})
	classic.(prometheus.ExemplarObserver).ObserveWithExemplar(0.5, prometheus.Labels{"trace_id": trace + "-slow"})
	native.(prometheus.ExemplarObserver).ObserveWithExemplar(0.25, prometheus.Labels{"trace_id": trace + "-native"})

	registry := prometheus.NewRegistry()
	registry.MustRegister(rows, classic, native)
	if err := push.New(os.Args[1], os.Args[2]).Grouping("instance", os.Args[3]).Gatherer(registry).Push(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
