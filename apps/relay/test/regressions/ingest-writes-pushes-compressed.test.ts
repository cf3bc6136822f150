// A Pushgateway push is written to Kafka snappy-compressed (`content-encoding: snappy`), whatever its size: the
// broker's CPU per push fell by a third and Kafka stores a quarter of the bytes (bench/peers-http.ts; the ingest
// README, Speed). Guards that a small push is
// compressed too (before, only pushes over 64 KiB were), that the consumer's own decodeRecord reads exactly what was
// pushed from the compressed record, and that a delete keeps its empty body.
import { decompress } from '@prom-relay/codec';
import { afterEach, expect, it } from 'vitest';
import { decodeRecord } from '../../src/decode/index.js';
import type { IngestMessage } from '../../src/ingest/index.js';
import { serveIngest, type ServedIngest } from '../ingest/serve.js';

let served: ServedIngest | undefined;
afterEach(async () => served?.close());

/** 100 samples as prom-client renders them: 10 counter families x 10 routes (5.9 KB). */
function body(): string {
  const lines: string[] = [];
  for (let f = 0; f < 10; f++) {
    lines.push(`# HELP bench_family_${f}_total Family ${f}.`, `# TYPE bench_family_${f}_total counter`);
    for (let r = 0; r < 10; r++) lines.push(`bench_family_${f}_total{route="/api/v1/route-${r}"} ${f * 10 + r + 1}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The record as Kafka hands it to the consumer: header values as bytes. */
function asRecord(m: IngestMessage) {
  const headers = Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, Buffer.from(v)]));
  return { topic: 't', partition: 0, offset: '0', key: Buffer.from(m.key), value: m.value, headers };
}

it('writes a small push compressed, and the consumer reads back exactly what was pushed', async () => {
  const sent: IngestMessage[] = [];
  served = await serveIngest({ send: async (m) => void sent.push(...m) });
  const text = body();
  const put = await fetch(`${served.url}/metrics/job/nightly/instance/host-1`, { method: 'PUT', headers: { 'content-type': 'text/plain; version=0.0.4' }, body: text });
  expect(put.status).toBe(200);
  const del = await fetch(`${served.url}/metrics/job/nightly/instance/host-1`, { method: 'DELETE' });
  expect(del.status).toBe(202);

  const [push, gone] = sent;
  expect(push!.headers['content-encoding']).toBe('snappy');
  expect(push!.value.length).toBeLessThan(Buffer.byteLength(text) / 3);
  expect(Buffer.from(decompress(push!.value)).toString()).toBe(text);
  const batch = decodeRecord(asRecord(push!));
  expect(batch.points).toHaveLength(100);
  expect(batch.points.reduce((n, p) => n + p.value, 0)).toBe(5050);
  expect(batch.points[0]!.labels).toMatchObject({ __name__: 'bench_family_0_total', route: '/api/v1/route-0', job: 'nightly', instance: 'host-1' });

  expect(gone!.headers['content-encoding']).toBeUndefined();
  expect(gone!.value.length).toBe(0);
  expect(decodeRecord(asRecord(gone!)).op).toBe('delete');
});
