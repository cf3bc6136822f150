// Two relays in one group: one joins mid-stream and later stops; partitions move both ways, totals stay exact.
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, Ledger, orderViolations, relayTestEnvironment, runFleet, settledTotals, sleep, stopRelay, type RelayProcess } from './harness.js';

const env = relayTestEnvironment();

const assignedPartitions = (r: RelayProcess): number => {
  const last = [...r.logs].reverse().find((l) => l.msg === 'partitions assigned');
  // Input-topic partitions only: the group also spreads the partials topic (the repartition stage) over its members.
  return Array.isArray(last?.assignment) ? last.assignment.filter((p) => !String(p).includes('.partials/')).length : 0;
};

it('splits the partitions when a relay joins mid-stream and moves them back when it stops; totals exact, counters never down', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 4 });
  const config = env.relayConfig({ topic });
  const a = await env.startRelay(config);
  await eventually(async () => assignedPartitions(a), (n) => n === 4, 30_000);

  const ledger = new Ledger();
  const fleet = runFleet({
    send: (messages) => producer.send({ topic, acks: -1, messages }).then(() => undefined),
    jobs: ['move-a', 'move-b', 'move-c', 'move-d', 'move-e'],
    runs: 80,
    pushesPerRun: 6,
    overlap: 8,
    pauseMs: 80,
    ledger,
  });
  // Scale out while jobs emit: the second relay takes some partitions over from the first one's checkpoints.
  await sleep(1500);
  const b = await env.startRelay(config);
  await eventually(async () => [assignedPartitions(a), assignedPartitions(b)], ([x, y]) => x! > 0 && y! > 0 && x! + y! === 4, 30_000);
  expect(assignedPartitions(a) + assignedPartitions(b)).toBe(4);
  expect(assignedPartitions(b)).toBeGreaterThan(0);
  await b.waitForLog((l) => l.msg === 'partition restored' && l.from === 'checkpoint', 20_000);
  await sleep(1500);
  // Scale in: the second relay stops; its partitions go back to the first.
  expect(await stopRelay(b)).toBe(0);
  await fleet;
  await eventually(async () => assignedPartitions(a), (n) => n === 4, 30_000);
  expect(assignedPartitions(a)).toBe(4);

  const seen = await settledTotals(prom, ledger, 45_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await orderViolations(prom)).toEqual([]);
  expect(a.logs.some((l) => l.msg === 'partition restored' && l.from === 'checkpoint')).toBe(true);
  expect(await stopRelay(a)).toBe(0);
}, 150_000);
