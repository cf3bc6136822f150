// Prometheus down for a while during the stream, then back: the relay keeps aggregating and checkpointing,
// and the next good flush delivers the totals; nothing is lost.
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, Ledger, relayTestEnvironment, runFleet, settledTotals, sleep, stopRelay } from './harness.js';

const env = relayTestEnvironment();

async function metric(url: string, re: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
}

it('delivers every total after Prometheus comes back', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const relay = await env.startRelay(
    env.relayConfig({ topic }),
  );
  const ledger = new Ledger();
  const fleet = runFleet({
    send: (messages) => producer.send({ topic, acks: -1, messages }).then(() => undefined),
    jobs: ['outage-a', 'outage-b'],
    runs: 40,
    pushesPerRun: 5,
    overlap: 4,
    pauseMs: 60,
    ledger,
  });
  await sleep(1500);
  await prom.kill();
  const failedBefore = await metric(relay.url, /^prom_relay_flushes_total\{result="failure"\} (\d+)/gm);
  // Jobs keep emitting while the store is down; the relay aggregates and checkpoints meanwhile.
  await fleet;
  await sleep(2500);
  const failedDuring = await metric(relay.url, /^prom_relay_flushes_total\{result="failure"\} (\d+)/gm);
  expect(failedDuring).toBeGreaterThan(failedBefore);
  const ready = await fetch(`${relay.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(await ready.json()).toMatchObject({ last_flush: 'failure' });
  // Checkpoints went on during the outage: the owners' every flush, the input partitions' at least every
  // flush.source_checkpoint_interval (30 s) while records arrive.
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  const ages = (t: string) => [...text.matchAll(new RegExp(`^prom_relay_checkpoint_age_seconds\\{[^}]*topic="${t}"[^}]*\\} ([\\d.e+-]+)`, 'gm'))].map((m) => Number(m[1]));
  const owners = ages('[^"]*\\.partials');
  expect(owners).toHaveLength(2);
  expect(owners.reduce((a, b) => a + b, 0)).toBeLessThan(4);
  const inputs = ages(topic); // a partition no record reached has no checkpoint yet
  expect(inputs.length).toBeGreaterThan(0);
  for (const age of inputs) expect(age).toBeLessThan(35);
  await prom.restart();

  const seen = await settledTotals(prom, ledger, 45_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  await eventually(async () => (await fetch(`${relay.url}/readyz`)).status, (s) => s === 200, 10_000);
  expect((await fetch(`${relay.url}/readyz`)).status).toBe(200);
  expect(await stopRelay(relay)).toBe(0);
}, 150_000);
