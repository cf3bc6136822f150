"""One run of a batch job instrumented with prometheus_client, pushing to a Pushgateway (here the relay's ingest)
with basic auth, as the client's documentation shows: push_to_gateway (PUT), pushadd_to_gateway (POST) or
delete_from_gateway, the default registry (it carries process_start_time_seconds: each run its own process).

usage: push_job.py URL USER PASSWORD INSTANCE ROWS [--pushadd] [--progress N] [--delete]
  --progress N  push once more mid-run, after N rows (a job reporting progress): cumulative, never counted twice
  --delete      delete the run's group at its end (its gauges end; its counts stay in the totals)
"""
import sys

from prometheus_client import REGISTRY, Counter, Gauge, delete_from_gateway, push_to_gateway, pushadd_to_gateway
from prometheus_client.exposition import basic_auth_handler

url, user, password, instance, rows = sys.argv[1:6]
flags = sys.argv[6:]
rows = int(rows)

processed = Counter("py_rows_processed", "Rows this run processed")
last_success = Gauge("py_last_success_unixtime", "When the job last finished")


def auth_handler(url, method, timeout, headers, data):
    return basic_auth_handler(url, method, timeout, headers, data, user, password)


push = pushadd_to_gateway if "--pushadd" in flags else push_to_gateway
grouping = {"instance": instance}
done = 0
if "--progress" in flags:
    done = int(flags[flags.index("--progress") + 1])
    processed.inc(done)
    push(url, job="py_etl", registry=REGISTRY, grouping_key=grouping, handler=auth_handler)
processed.inc(rows - done)
last_success.set_to_current_time()
push(url, job="py_etl", registry=REGISTRY, grouping_key=grouping, handler=auth_handler)
if "--delete" in flags:
    delete_from_gateway(url, job="py_etl", grouping_key=grouping, handler=auth_handler)
print(f"pushed {rows} rows as instance {instance}")
