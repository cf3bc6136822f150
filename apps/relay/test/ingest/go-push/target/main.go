// A scrape target built on the Prometheus Go client: /metrics on 127.0.0.1 (free port, printed as "listening <addr>"),
// with a counter, a gauge, a classic histogram and a native histogram (NativeHistogramBucketFactor 1.1), each fed once
// at start from its arguments, so every scrape reads the same values.
// Usage: target <rows> <queue depth> <observation>...   (the observations feed both histograms)
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func number(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return v
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: target <rows> <queue depth> <observation>...")
		os.Exit(2)
	}
	rows := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "p3_rows_total", Help: "Rows processed."}, []string{"table"})
	rows.WithLabelValues("users").Add(number(os.Args[1]))
	depth := prometheus.NewGauge(prometheus.GaugeOpts{Name: "p3_queue_depth", Help: "Queue depth."})
	depth.Set(number(os.Args[2]))
	classic := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "p3_classic_seconds", Help: "Classic latency.", Buckets: []float64{0.1, 1, 10}})
	native := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "p3_native_seconds", Help: "Native latency.", NativeHistogramBucketFactor: 1.1})
	for _, s := range os.Args[3:] {
		v := number(s)
		classic.Observe(v)
		native.Observe(v)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(rows, depth, classic, native)

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", listener.Addr())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	if err := http.Serve(listener, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
