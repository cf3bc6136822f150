// The relay SIGKILLed in the middle of a stream and started again: totals exact, no output counter ever decreases.
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { Ledger, orderViolations, relayTestEnvironment, runFleet, settledTotals, sleep, stopRelay } from './harness.js';

const env = relayTestEnvironment();

it('keeps every total exact through a SIGKILL and a restart, and no counter ever goes down', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const config = env.relayConfig({ topic });
  const first = await env.startRelay(config);
  const ledger = new Ledger();
  const fleet = runFleet({
    send: (messages) => producer.send({ topic, acks: -1, messages }).then(() => undefined),
    jobs: ['crash-a', 'crash-b', 'crash-c'],
    runs: 60,
    pushesPerRun: 6,
    overlap: 6,
    pauseMs: 80,
    ledger,
  });
  // Let it flush and checkpoint a few times, then kill it without any chance to clean up.
  await first.waitForLog((l) => l.msg === 'partition restored');
  await sleep(2500);
  first.kill('SIGKILL');
  await first.exited;
  await sleep(500);
  const second = await env.startRelay(config);
  await fleet;

  const seen = await settledTotals(prom, ledger, 45_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await orderViolations(prom)).toEqual([]);
  // The restarted relay restored from checkpoints rather than starting empty.
  expect(second.logs.some((l) => l.msg === 'partition restored' && l.from === 'checkpoint')).toBe(true);
  expect(await stopRelay(second)).toBe(0);
}, 150_000);
