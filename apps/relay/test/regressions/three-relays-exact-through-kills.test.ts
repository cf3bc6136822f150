// Guards issue 9 with several relays: three relays in one group while every push lands on a random partition (so
// every output series is fed from several partitions and owned by one relay): one relay SIGKILLed and restarted, one
// joining mid-stream and leaving. Every total exact; no raw sample of any counter ever lower than the one before.
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { Ledger, orderViolations, randomPartitionSender, relayTestEnvironment, runFleet, settledTotals, sleep, stopRelay } from '../e2e/harness.js';

const env = relayTestEnvironment();

const PARTITIONS = 4;

it('three relays, random partitions, one SIGKILLed and restarted, one joining and leaving: exact, never down', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: PARTITIONS });
  const config = env.relayConfig({ topic, extra: { aggregation: { series_ttl: '10m', rules: [{ match: 'e2e_rows_total', by: ['table'], outputs: ['total'], keep_input: true }] } } });
  const start = () => env.startRelay(config);
  const [a, b] = await Promise.all([start(), start()]);
  await Promise.all([a!, b!].map((r) => r.waitForLog((l) => l.msg === 'partition restored', 30_000)));

  const ledger = new Ledger();
  // Any partition at all: kcat with a null key, a round-robin partitioner, a client we do not control.
  const sender = randomPartitionSender(producer, topic, PARTITIONS);
  const fleet = runFleet({
    send: sender.send,
    jobs: ['three-a', 'three-b', 'three-c', 'three-d'],
    runs: 70,
    pushesPerRun: 5,
    overlap: 8,
    pauseMs: 60,
    ledger,
  });
  // The rule sums every job's rows by table: one more output series per table, fed from every partition.
  await sleep(2000);
  const c = await start();
  await c.waitForLog((l) => l.msg === 'partitions assigned', 30_000);
  await sleep(1500);
  a!.kill('SIGKILL');
  await a!.exited;
  await sleep(1500);
  const a2 = await start();
  await a2.waitForLog((l) => l.msg === 'partitions assigned', 30_000);
  await sleep(1500);
  expect(await stopRelay(c)).toBe(0);
  await fleet;
  expect(sender.sent).toBeGreaterThan(100);

  // Expected rule outputs: the ledger's per-job rows summed per table.
  for (const [key, value] of [...ledger.expected]) {
    const [name, , labels] = key.split('|');
    if (name === 'e2e_rows_total') ledger.add(`e2e_rows_total:by_table_total|undefined|${labels}`, value);
  }
  const seen = await settledTotals(prom, ledger, 90_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await orderViolations(prom)).toEqual([]);
  expect(a2.logs.some((l) => l.msg === 'partition restored' && l.from === 'checkpoint')).toBe(true);
  expect(await stopRelay(a2)).toBe(0);
  expect(await stopRelay(b!)).toBe(0);
}, 240_000);
