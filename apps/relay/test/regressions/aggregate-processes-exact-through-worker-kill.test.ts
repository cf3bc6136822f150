// Guards issue 14 goal 2 (`prom-relay aggregate --processes N`): two aggregator processes under one primary, each a
// member of the consumer group, pushes on random partitions (every output series fed from several partitions, so the
// repartition stage combines across processes); one worker SIGKILLed mid-stream is forked again, counted and logged.
// Prometheus ends with every exact total, no counter sample ever lower than the one before; /metrics, /readyz and the
// status page answer for both processes.
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, Ledger, orderViolations, randomPartitionSender, relayTestEnvironment, runFleet, settledTotals, sleep, stopRelay } from '../e2e/harness.js';

// Its teardown SIGKILLs the aggregator processes too (killRelay), should the test fail with them running.
const env = relayTestEnvironment();

const PARTITIONS = 4;

it('two aggregator processes, one SIGKILLed and forked again: exact totals, never down, one /metrics and /readyz', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'procs', partitions: PARTITIONS });
  const config = env.relayConfig({ topic, extra: { aggregation: { series_ttl: '10m', processes: 2 } } });
  const r = await env.startRelay(config, { role: 'aggregate' });
  const started = () => r.logs.filter((l) => l.msg === 'aggregate worker started');
  // The primary's `relay started` comes once both processes joined the group.
  expect(r.logs.find((l) => l.msg === 'relay started')).toMatchObject({ role: 'aggregate', workers: 2 });
  // (the workers' lines may reach the pipe a moment after the primary's)
  expect(await eventually(async () => started().length, (n) => n === 2, 5000)).toBe(2);
  const ready = await eventually(
    async () => {
      const res = await fetch(`${r.url}/readyz`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    (x) => x.status === 200,
    30_000,
  );
  expect(ready.body).toMatchObject({ status: 'ready', workers: '2 of 2 answering' });

  const ledger = new Ledger();
  const sender = randomPartitionSender(producer, topic, PARTITIONS);
  const fleet = runFleet({
    send: sender.send,
    jobs: ['procs-a', 'procs-b', 'procs-c'],
    runs: 80,
    pushesPerRun: 5,
    overlap: 8,
    pauseMs: 100,
    ledger,
  });
  await sleep(2000);
  const victim = Number(started()[0]!.pid);
  process.kill(victim, 'SIGKILL');
  const exited = await r.waitForLog((l) => l.msg === 'aggregate worker exited; forking it again', 10_000);
  expect(exited).toMatchObject({ level: 50, signal: 'SIGKILL' });
  await eventually(async () => started().length, (n) => n === 3, 60_000);
  expect(Number(started()[2]!.pid)).not.toBe(victim);
  await fleet;
  expect(sender.sent).toBeGreaterThan(100);

  const seen = await settledTotals(prom, ledger, 90_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await orderViolations(prom)).toEqual([]);
  // The new process restored what the killed one had checkpointed.
  expect(r.logs.some((l) => l.msg === 'partition restored' && l.from === 'checkpoint')).toBe(true);

  // One /metrics for both processes: every input partition consumed once, summed over the workers.
  const metrics = await eventually(
    async () => (await fetch(`${r.url}/metrics`)).text(),
    (m) => /^prom_relay_aggregate_workers 2$/m.test(m),
    10_000,
  );
  expect(metrics).toMatch(/^prom_relay_aggregate_worker_restarts_total 1$/m);
  const owned = Number(/^prom_relay_partitions_owned(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1]);
  // One status page: every partition (the input topic's and the partials topic's) owned by one of the two.
  const status = (await (await fetch(`${r.url}/api/v1/status`)).json()) as { workers: number; partitions: { topic: string; partition: number; kind: string }[] };
  expect(status.workers).toBe(2);
  const inputs = status.partitions.filter((p) => p.kind === 'input').map((p) => p.partition);
  expect(inputs.sort()).toEqual([0, 1, 2, 3]);
  expect(status.partitions.filter((p) => p.kind === 'partials').length).toBe(PARTITIONS);
  expect(owned).toBe(status.partitions.length);
  expect(await stopRelay(r)).toBe(0);
}, 240_000);
