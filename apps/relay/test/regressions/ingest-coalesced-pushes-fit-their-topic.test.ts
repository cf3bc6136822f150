// Guards the ingest's group commit (pipeline.ts, the ingest stage's send): pushes arriving while a produce is under
// way are produced together in the next one, and Kafka takes at most the topic's max.message.bytes per partition in
// one produce request. Each push fits (ingest.max_body_bytes, the topic sized for it), several together did not: all
// of them were answered 503 (PROM_RELAY_INGEST_UNAVAILABLE) though Kafka was there and each alone would have been
// taken; their clients retried into the same coalescing. Real Kafka, the relay as a process, concurrent PUTs.
import { randomBytes } from 'node:crypto';
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { relayTestEnvironment, stopRelay } from '../e2e/harness.js';

const env = relayTestEnvironment();

const MAX_BODY = 64 * 1024;
const PUSHES = 12;

/** A text push of about 55 KB that snappy cannot shrink (random label values). */
function bigPush(): string {
  const lines = ['# TYPE e2e_padded_total counter'];
  for (let i = 0; i < 100; i++) lines.push(`e2e_padded_total{i="${i}",r="${randomBytes(400).toString('base64')}"} 1`);
  return `${lines.join('\n')}\n`;
}

it('answers 200 to every push of a burst whose pushes fit the topic one by one but not together', async () => {
  // The relay raises the topic's max.message.bytes to max_body_bytes + 64 KiB: 128 KiB, two pushes at most.
  const topic = await createTestTopic({ prefix: 'ingest', partitions: 1, config: { 'max.message.bytes': 100_000 } });
  const relay = await env.startRelay(env.relayConfig({ topic, extra: { ingest: { max_body_bytes: MAX_BODY } } }));
  const bodies = Array.from({ length: PUSHES }, bigPush);
  for (const body of bodies) expect(Buffer.byteLength(body)).toBeLessThan(MAX_BODY);
  const statuses = await Promise.all(
    bodies.map(async (body, i) => {
      const res = await fetch(`${relay.url}/metrics/job/burst/instance/w${i}`, { method: 'PUT', body });
      return `${res.status} ${res.status === 200 ? '' : await res.text()}`.trim();
    }),
  );
  expect(statuses).toEqual(bodies.map(() => '200'));
  expect(await stopRelay(relay)).toBe(0);
}, 120_000);
