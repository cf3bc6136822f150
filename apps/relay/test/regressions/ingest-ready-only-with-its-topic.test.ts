// `prom-relay ingest` is ready only while Kafka answers and its topic exists: a load balancer must not send pushes to
// an ingest that could only answer 503. With kafka.create_topics off and the topic missing, /readyz answers 503 naming
// it (and /healthz 200); once the topic is created, /readyz turns 200 within a few seconds, with no restart.
// One worker (ingest.workers: 1): the ingest runs in the one process, no node:cluster.
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createKafkaTopic } from '@prom-relay/infra';
import { testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, expect, it } from 'vitest';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

let relay: RelayProcess | undefined;

afterAll(() => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
});

it('answers /readyz 503 naming the missing ingest topic, and 200 once it exists', async () => {
  const topic = `late-ingest-${randomUUID().slice(0, 8)}`;
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write',
    extra: { ingest: { workers: 1 } },
  });
  writeFileSync(config, readFileSync(config, 'utf8').replace('kafka:\n', 'kafka:\n  create_topics: false\n'));
  relay = await startRelayProcess(config, { role: 'ingest' });
  expect(relay.logs.find((l) => l.msg === 'relay started')).toMatchObject({ role: 'ingest' });

  const readyz = async () => {
    const res = await fetch(`${relay!.url}/readyz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const before = await readyz();
  expect(before).toEqual({ status: 503, body: { status: 'not ready', kafka: 'connected', ingest_topic: `missing: ${topic}`, produce: 'ok' } });
  expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
  expect(relay.logs.some((l) => l.msg === 'ingest not ready: the ingest topic does not exist; /readyz answers 503' && l.topic === topic)).toBe(true);
  // The ingest role consumes nothing: no group member, no consumer metrics.
  expect(await (await fetch(`${relay.url}/metrics`)).text()).toMatch(/^prom_relay_partitions_owned 0$/m);

  await createKafkaTopic(testKafkaBrokers(), topic, { partitions: 2 });
  const after = await eventually(readyz, (r) => r.status === 200, 15_000, 500);
  expect(after).toEqual({ status: 200, body: { status: 'ready', kafka: 'connected', ingest_topic: 'present', produce: 'ok' } });
  await relay.waitForLog((l) => l.msg === 'ingest ready again: Kafka answers and the ingest topic exists');
  expect(await stopRelay(relay)).toBe(0);
}, 90_000);
