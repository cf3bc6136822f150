// Issue 13: while a relay restarted, its HTTP ingest refused connections (about 10 s per restart; pushers needed
// 66-225 retries). With `prom-relay ingest` and `prom-relay aggregate` as separate processes, pushes keep being
// acknowledged (every one 2xx, none retried) while the aggregator is SIGKILLed and started again, and Prometheus ends
// with the exact totals, no counter ever going down. The ingest runs 2 workers (node:cluster), so this also checks
// that its /metrics answers for both.
import { randomUUID } from 'node:crypto';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { StatusSnapshot } from '../../src/status/index.js';
import { Ledger, orderViolations, settledTotals, sleep, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

let prom: PrometheusServer;
const relays: RelayProcess[] = [];

beforeAll(async () => {
  prom = await startPrometheus();
}, 60_000);

afterAll(async () => {
  for (const r of relays) if (r.child.exitCode === null) r.kill('SIGKILL');
  await prom?.stop();
});

interface Outcome {
  at: number;
  status: number | string;
}

/** One pusher: job runs of `pushesPerRun` Pushgateway PUTs each (a fresh run id per run), cumulative counters. */
async function pusher(url: string, job: string, ledger: Ledger, outcomes: Outcome[], stop: () => boolean): Promise<void> {
  const pushesPerRun = 5;
  while (!stop()) {
    const run = randomUUID();
    const instance = `host-${run.slice(0, 4)}`;
    let total = 0;
    for (let i = 0; i < pushesPerRun && !stop(); i++) {
      const inc = 1 + (i % 3);
      const body = `# TYPE e2e_rows_total counter\ne2e_rows_total{table="users"} ${total + inc}\n`;
      let status: number | string;
      try {
        const res = await fetch(`${url}/metrics/job/${job}/instance/${instance}`, {
          method: 'PUT',
          headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-producer': run },
          body,
          signal: AbortSignal.timeout(15_000),
        });
        status = res.status;
        await res.arrayBuffer();
      } catch (err) {
        status = `error: ${(err as Error).message}`;
      }
      outcomes.push({ at: Date.now(), status });
      // Only what was acknowledged counts: a refused push would be a lost one, and the test fails on it below.
      if (status === 200) {
        total += inc;
        ledger.add(`e2e_rows_total|${job}|table=users`, inc);
      }
      await sleep(40);
    }
  }
}

function ingestRequests(metrics: string): number {
  let n = 0;
  for (const m of metrics.matchAll(/^prom_relay_ingest_requests_total\{([^}]*)\} (\d+)/gm)) if (m[1]!.includes('status="200"')) n += Number(m[2]);
  return n;
}

it('keeps answering 2xx to every push while the aggregator is SIGKILLed and restarted; totals exact', async () => {
  const topic = await createTestTopic({ prefix: 'roles', partitions: 2 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: prom.remoteWriteUrl,
    extra: { ingest: { workers: 2 } },
  });
  const ingest = await startRelayProcess(config, { role: 'ingest' });
  relays.push(ingest);
  let aggregator = await startRelayProcess(config, { role: 'aggregate' });
  relays.push(aggregator);
  await aggregator.waitForLog((l) => l.msg === 'partition restored', 60_000);
  // The ingest serves no aggregator route, the aggregator no ingest route.
  expect((await fetch(`${aggregator.url}/metrics/job/x`, { method: 'PUT', body: 'x 1\n' })).status).toBe(404);

  const ledger = new Ledger();
  const outcomes: Outcome[] = [];
  let stopped = false;
  const pushers = ['roles-a', 'roles-b', 'roles-c'].map((job) => pusher(ingest.url, job, ledger, outcomes, () => stopped));

  await sleep(3000);
  const killedAt = Date.now();
  aggregator.kill('SIGKILL');
  await aggregator.exited;
  // The aggregator is gone: the ingest keeps acknowledging, and stays ready.
  await sleep(2000);
  const ready = await fetch(`${ingest.url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toMatchObject({ kafka: 'connected', ingest_topic: 'present' });
  aggregator = await startRelayProcess(config, { role: 'aggregate' });
  relays.push(aggregator);
  const restartedAt = Date.now();
  await aggregator.waitForLog((l) => l.msg === 'partition restored', 60_000);
  await sleep(2000);
  stopped = true;
  await Promise.all(pushers);

  const refused = outcomes.filter((o) => o.status !== 200);
  expect(refused).toEqual([]);
  const whileDown = outcomes.filter((o) => o.at > killedAt && o.at < restartedAt).length;
  expect(whileDown).toBeGreaterThan(20);

  const seen = await settledTotals(prom, ledger, 60_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await orderViolations(prom)).toEqual([]);
  // The restarted aggregator took its state from the checkpoints, not from nothing.
  expect(aggregator.logs.some((l) => l.msg === 'partition restored' && l.from === 'checkpoint')).toBe(true);

  // /metrics of the ingest sums its workers: every acknowledged push counted once, whichever worker took it.
  const metrics = await (await fetch(`${ingest.url}/metrics`)).text();
  expect(ingestRequests(metrics)).toBe(outcomes.length);
  expect(metrics).toMatch(/^prom_relay_ingest_workers 2$/m);
  expect(metrics).toMatch(/^prom_relay_build_info\{[^}]*\} 1$/m);
  const workers = new Set(ingest.logs.filter((l) => l.msg === 'ingest worker started').map((l) => l.worker));
  expect(workers.size).toBe(2);
  // So does its status: the jobs of both workers, every acknowledged push once; no partition (it consumes nothing).
  const status = (await (await fetch(`${ingest.url}/api/v1/status`)).json()) as StatusSnapshot;
  expect(status).toMatchObject({ role: 'ingest', workers: 2, partitions: null, flushes: null, deadLetters: null });
  expect(status.jobs.rows.map((j) => j.job).sort()).toEqual(['roles-a', 'roles-b', 'roles-c']);
  expect(status.jobs.rows.reduce((n, j) => n + j.pushes, 0)).toBe(outcomes.length);

  expect(await stopRelay(aggregator)).toBe(0);
  expect(await stopRelay(ingest)).toBe(0);
}, 240_000);
