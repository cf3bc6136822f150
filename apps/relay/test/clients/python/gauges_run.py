"""One run of a cron job that reports gauges, as prometheus_client's README pushes them: its own CollectorRegistry, a
counter of the rows it processed and the gauges it was given, pushed once to each URL (a real Pushgateway and the
relay's ingest get the same push) with push_to_gateway (PUT: the group's metrics replaced) or, with --add,
pushadd_to_gateway (POST: only the metrics of the names pushed replaced).

usage: gauges_run.py JOB INSTANCE ROWS GAUGES_JSON URL... [--add]
  GAUGES_JSON  [[name, {label: value}, value], ...]
"""
import json
import sys

from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway, pushadd_to_gateway

args = [a for a in sys.argv[1:] if a != "--add"]
add = "--add" in sys.argv[1:]
job, instance, rows, spec, urls = args[0], args[1], int(args[2]), json.loads(args[3]), args[4:]
registry = CollectorRegistry()
if rows > 0:
    Counter("cron_rows", "Rows this run processed", registry=registry).inc(rows)
gauges = {}
for name, labels, value in spec:
    if name not in gauges:
        gauges[name] = Gauge(name, f"{name} as the run saw it", sorted(labels), registry=registry)
    (gauges[name].labels(**labels) if labels else gauges[name]).set(value)
push = pushadd_to_gateway if add else push_to_gateway
for url in urls:
    push(url, job=job, registry=registry, grouping_key={"instance": instance})
print(f"pushed to {len(urls)} gateways")
