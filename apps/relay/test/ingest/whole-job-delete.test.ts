// The ingest's side of ending a job: `DELETE /metrics/job/<job>` (no grouping labels) goes to every partition of the
// ingest topic; a group's DELETE stays one keyed message; a push's process run names its producer.
import { afterEach, describe, expect, it } from 'vitest';
import type { IngestMessage } from '../../src/ingest/index.js';
import { serveIngest, type ServedIngest } from './serve.js';

let served: ServedIngest | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function ingestWith(partitions: () => Promise<number>): Promise<{ url: string; sent: (IngestMessage & { partition?: number })[] }> {
  const sent: (IngestMessage & { partition?: number })[] = [];
  served = await serveIngest({ send: async (m) => void sent.push(...m), partitions });
  return { url: served.url, sent };
}

describe('whole-job DELETE', () => {
  it('is produced once to every partition, as op delete without grouping; 202', async () => {
    const { url, sent } = await ingestWith(async () => 5);
    const res = await fetch(`${url}/metrics/job/nightly`, { method: 'DELETE' });
    expect(res.status).toBe(202);
    expect(sent.map((m) => m.partition)).toEqual([0, 1, 2, 3, 4]);
    for (const m of sent) {
      expect(m.headers['prom-relay-op']).toBe('delete');
      expect(m.headers['prom-relay-job']).toBe('nightly');
      expect(m.headers['prom-relay-grouping'] ?? '').toBe('');
    }
  });

  it("a group's DELETE stays one keyed message on the group's home", async () => {
    const { url, sent } = await ingestWith(async () => 5);
    expect((await fetch(`${url}/metrics/job/nightly/instance/h1`, { method: 'DELETE' })).status).toBe(202);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.partition).toBeUndefined();
  });

  it('answers 503 naming the problem when the partition count cannot be read, producing nothing', async () => {
    const { url, sent } = await ingestWith(async () => {
      throw new Error('metadata timed out');
    });
    const res = await fetch(`${url}/metrics/job/nightly`, { method: 'DELETE' });
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/cannot read the partitions of the ingest topic: metadata timed out/);
    expect(sent).toHaveLength(0);
  });
});

describe('run detection', () => {
  it('a push without a run header is named by its process_start_time_seconds; the header wins when present', async () => {
    const { url, sent } = await ingestWith(async () => 1);
    const body = '# TYPE rows_total counter\nrows_total 3\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1796143678.11\n';
    expect((await fetch(`${url}/metrics/job/cron/instance/h1`, { method: 'PUT', body })).status).toBe(200);
    expect((await fetch(`${url}/metrics/job/cron/instance/h1`, { method: 'PUT', body, headers: { 'prom-relay-producer': 'r7' } })).status).toBe(200);
    expect((await fetch(`${url}/metrics/job/cron/instance/h1`, { method: 'PUT', body: 'rows_total 3\n' })).status).toBe(200);
    expect(sent.map((m) => m.headers['prom-relay-producer'])).toEqual([
      'pushgateway/job=cron&instance=h1/run=process_start=1796143678.11',
      'pushgateway/job=cron&instance=h1/run=r7',
      'pushgateway/job=cron&instance=h1',
    ]);
  });
});
