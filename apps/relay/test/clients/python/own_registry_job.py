"""One run of a batch job as prometheus_client's README shows it for the Pushgateway: its own CollectorRegistry (no
process_start_time_seconds in it), push_to_gateway (PUT) after each step, optionally delete_from_gateway at its end.
Several copies may run at once on several machines without an instance grouping key: they push to one group.

usage: own_registry_job.py URL JOB ROWS_PER_STEP STEPS [--instance NAME] [--delete]
  --instance NAME  push to the group {instance=NAME} (else the job's group without grouping labels)
  --delete         delete the run's group at its end (its gauges end; its counts stay in the totals)
"""
import sys
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, delete_from_gateway, push_to_gateway

url, job, step, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
flags = sys.argv[5:]
grouping = {"instance": flags[flags.index("--instance") + 1]} if "--instance" in flags else {}
registry = CollectorRegistry()
rows = Counter("own_rows_processed", "Rows this run processed", ["table"], registry=registry)
last_step = Gauge("own_last_step_unixtime", "When the run last finished a step", registry=registry)
for _ in range(steps):
    rows.labels("orders").inc(step)
    last_step.set_to_current_time()
    push_to_gateway(url, job=job, registry=registry, grouping_key=grouping)
    time.sleep(0.2)
if "--delete" in flags:
    delete_from_gateway(url, job=job, grouping_key=grouping)
print(f"pushed {step * steps} rows")
