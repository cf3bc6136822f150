// The HTTP contract of the ingest: routes, status codes, auth, limits. `send` records here; Kafka is in ingest-kafka.test.ts.
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { compress, decodeWriteRequest, decodeWriteRequestV2, decompress, encodeWriteRequest, encodeWriteRequestV2 } from '@prom-relay/codec';
import type { WriteRequest } from '@prom-relay/codec';
import { afterEach, describe, expect, it } from 'vitest';
import type { IngestLogEntry, IngestMessage, IngestOptions } from '../../src/ingest/index.js';
import { serveIngest } from './serve.js';
import type { ServedIngest } from './serve.js';

const TEXT = '# TYPE rows_total counter\nrows_total{table="users"} 120\n# TYPE depth gauge\ndepth 7\n';

let served: ServedIngest | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function start(options: Partial<IngestOptions> = {}): Promise<{ url: string; sent: IngestMessage[][]; logs: IngestLogEntry[] }> {
  const sent: IngestMessage[][] = [];
  const logs: IngestLogEntry[] = [];
  served = await serveIngest({ send: async (m) => void sent.push(m), log: (e) => logs.push(e), ...options });
  return { url: served.url, sent, logs };
}

/** Raw HTTP so that tests control Content-Length and chunking exactly. */
function send(url: string, method: string, path: string, headers: Record<string, string>, body?: Buffer | Buffer[]): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    for (const chunk of Array.isArray(body) ? body : body ? [body] : []) req.write(chunk);
    req.end();
  });
}

describe('Pushgateway API', () => {
  it('PUT answers 200 after send resolved, with one message in the documented format', async () => {
    const { url, sent } = await start();
    const res = await send(url, 'PUT', '/metrics/job/nightly/instance/host-1/region/eu', { 'content-type': 'text/plain; version=0.0.4' }, Buffer.from(TEXT));
    expect(res.status).toBe(200);
    expect(sent).toHaveLength(1);
    const [msg] = sent[0]!;
    expect(msg!.key).toBe('job=nightly,region=eu');
    // Written snappy-compressed: kafkajs, the broker and the consumer handle a quarter of the bytes.
    expect(Buffer.from(decompress(msg!.value)).toString()).toBe(TEXT);
    expect(msg!.headers).toEqual({
      'content-type': 'text/plain; version=0.0.4',
      'content-encoding': 'snappy',
      'prom-relay-job': 'nightly',
      'prom-relay-grouping': 'instance=host-1&region=eu',
      'prom-relay-producer': 'pushgateway/job=nightly&instance=host-1&region=eu',
      'prom-relay-op': 'push',
    });
  });

  it('a prom-relay-producer request header makes each job run its own producer; a bad one gets 400', async () => {
    const { url, sent } = await start();
    const path = '/metrics/job/nightly/instance/host-1';
    expect((await send(url, 'PUT', path, { 'prom-relay-producer': 'run-1' }, Buffer.from(TEXT))).status).toBe(200);
    expect((await send(url, 'PUT', path, { 'prom-relay-producer': 'run-2' }, Buffer.from(TEXT))).status).toBe(200);
    expect(sent.map((m) => m[0]!.headers['prom-relay-producer'])).toEqual([
      'pushgateway/job=nightly&instance=host-1/run=run-1',
      'pushgateway/job=nightly&instance=host-1/run=run-2',
    ]);
    const bad = await send(url, 'PUT', path, { 'prom-relay-producer': 'has space' }, Buffer.from(TEXT));
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('prom-relay-producer');
    expect(sent).toHaveLength(2);
  });

  it('POST is op add, DELETE is op delete with 202, gzip bodies are taken', async () => {
    const { url, sent } = await start();
    expect((await send(url, 'POST', '/metrics/job/j', { 'content-encoding': 'gzip' }, gzipSync(TEXT))).status).toBe(200);
    expect((await send(url, 'DELETE', '/metrics/job/j', {})).status).toBe(202);
    expect(sent.map((m) => m[0]!.headers['prom-relay-op'])).toEqual(['add', 'delete']);
    expect(Buffer.from(decompress(sent[0]![0]!.value)).toString()).toBe(TEXT);
    expect(sent[1]![0]!.value.length).toBe(0);
  });

  it('a malformed body gets 400 naming line and column, and nothing is sent', async () => {
    const { url, sent } = await start();
    const res = await send(url, 'PUT', '/metrics/job/j', {}, Buffer.from('ok_metric 1\nbad_metric{x="1" 2\n'));
    expect(res.status).toBe(400);
    expect(res.text).toBe('PROM_RELAY_INGEST_BODY: text exposition does not parse (line 2, column 18): expected "," or "}" after the value of label x\n');
    expect(sent).toHaveLength(0);
  });

  it('a bad path gets 400 and a wrong method 405', async () => {
    const { url, sent } = await start();
    expect((await send(url, 'PUT', '/metrics/job/j/instance', {}, Buffer.from(TEXT))).status).toBe(400);
    const get = await send(url, 'GET', '/metrics/job/j', {});
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('PUT, POST, DELETE');
    expect(sent).toHaveLength(0);
  });

  it('routes outside the ingest are left to the caller', async () => {
    const { url } = await start();
    expect((await send(url, 'GET', '/metrics', {})).status).toBe(404);
    expect((await send(url, 'GET', '/metrics/jobs/x', {})).status).toBe(404);
    expect((await send(url, 'GET', '/healthz', {})).status).toBe(404);
  });

  it('answers 503 when Kafka does not acknowledge', async () => {
    const { url } = await start({ send: () => Promise.reject(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1')) });
    const res = await send(url, 'PUT', '/metrics/job/j', {}, Buffer.from(TEXT));
    expect(res.status).toBe(503);
    expect(res.text).toMatch(/PROM_RELAY_INGEST_UNAVAILABLE/);
  });

  it('answers 503 when no ack comes within sendTimeoutMs', async () => {
    const { url } = await start({ sendTimeoutMs: 200, send: () => new Promise<void>(() => undefined) });
    const t0 = Date.now();
    const res = await send(url, 'PUT', '/metrics/job/j', {}, Buffer.from(TEXT));
    expect(res.status).toBe(503);
    expect(res.text).toMatch(/within 200 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('coalesces concurrent requests into fewer sends, each answered after its own ack', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls: number[] = [];
    const { url } = await start({
      maxConcurrentSends: 1,
      send: async (m) => {
        calls.push(m.length);
        if (calls.length === 1) await gate;
      },
    });
    const first = send(url, 'PUT', '/metrics/job/j/instance/0', {}, Buffer.from(TEXT));
    await new Promise((r) => setTimeout(r, 50));
    const rest = [1, 2, 3].map((i) => send(url, 'PUT', `/metrics/job/j/instance/${i}`, {}, Buffer.from(TEXT)));
    // Time for the three to reach the ingest and queue behind the first send: 50 ms let one arrive late beside other
    // test files (a CI run sent [1, 2, 1]).
    await new Promise((r) => setTimeout(r, 500));
    release();
    const statuses = await Promise.all([first, ...rest]);
    expect(statuses.map((s) => s.status)).toEqual([200, 200, 200, 200]);
    expect(calls).toEqual([1, 3]);
  });
});

describe('limits', () => {
  it('413 from Content-Length before reading', async () => {
    const { url, sent } = await start({ maxBodyBytes: 1000 });
    const res = await send(url, 'PUT', '/metrics/job/j', { 'content-length': '5000' }, Buffer.alloc(5000, 0x61));
    expect(res.status).toBe(413);
    expect(sent).toHaveLength(0);
  });

  it('413 while streaming a chunked body', async () => {
    const { url, sent } = await start({ maxBodyBytes: 1000 });
    const chunks = Array.from({ length: 10 }, () => Buffer.from(`m ${'1'.repeat(300)}\n`));
    const res = await send(url, 'PUT', '/metrics/job/j', { 'transfer-encoding': 'chunked' }, chunks);
    expect(res.status).toBe(413);
    expect(sent).toHaveLength(0);
  });

  it('413 for a gzip body that inflates past the limit', async () => {
    const { url, sent } = await start({ maxBodyBytes: 10_000 });
    const bomb = gzipSync(Buffer.from(`# ${'x'.repeat(1_000_000)}\n`));
    expect(bomb.length).toBeLessThan(10_000);
    const res = await send(url, 'PUT', '/metrics/job/j', { 'content-encoding': 'gzip' }, bomb);
    expect(res.status).toBe(413);
    expect(sent).toHaveLength(0);
  });

  it('413 for a snappy body whose preamble claims more than the limit, without inflating it', async () => {
    const { url, sent } = await start({ maxBodyBytes: 10_000 });
    // preamble: varint 1 GiB, then a few literal bytes: only the preamble can reject it this cheaply
    const body = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x61]);
    const res = await send(url, 'POST', '/api/v1/write', { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, body);
    expect(res.status).toBe(413);
    expect(sent).toHaveLength(0);
  });
});

describe('clients that go away', () => {
  it('a body cut off by the client settles the request (logged as aborted, not a bad body) and sends nothing', async () => {
    const { url, sent, logs } = await start();
    const req = request(`${url}/metrics/job/j`, { method: 'PUT', headers: { 'content-length': '1000' } });
    req.on('error', () => undefined);
    req.write('rows_total 1\n');
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    for (let i = 0; i < 50 && logs.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(logs).toEqual([expect.objectContaining({ code: 'PROM_RELAY_INGEST_ABORTED', status: 499, path: '/metrics/job/j' })]);
    expect(sent).toHaveLength(0);
  });
});

describe('auth', () => {
  const auth = { basic: [{ username: 'team-a', password: 's3cret-a' }, { username: 'team-b', password: 's3cret-b' }], bearer: ['tok-1', 'tok-2'] };
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

  it('401 with WWW-Authenticate when missing or wrong, and nothing is sent', async () => {
    const { url, sent, logs } = await start({ auth });
    const missing = await send(url, 'PUT', '/metrics/job/j', {}, Buffer.from(TEXT));
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toEqual(expect.stringContaining('Basic realm="prom-relay"'));
    expect(String(missing.headers['www-authenticate'])).toMatch(/Bearer realm="prom-relay"/);
    for (const authorization of [basic('team-a', 's3cret-b'), basic('team-c', 's3cret-a'), 'Bearer tok-3', 'Bearer', 'Digest x']) {
      expect((await send(url, 'PUT', '/metrics/job/j', { authorization }, Buffer.from(TEXT))).status).toBe(401);
    }
    expect((await send(url, 'POST', '/api/v1/write', {}, Buffer.alloc(0))).status).toBe(401);
    expect(sent).toHaveLength(0);
    const logged = JSON.stringify(logs);
    expect(logs.filter((l) => l.status === 401)).toHaveLength(7);
    for (const secret of ['s3cret', 'tok-3', Buffer.from('team-a:s3cret-b').toString('base64')]) expect(logged).not.toContain(secret);
  });

  it('any configured basic credential or bearer token is accepted', async () => {
    const { url, sent } = await start({ auth });
    for (const authorization of [basic('team-a', 's3cret-a'), basic('team-b', 's3cret-b'), 'Bearer tok-1', 'bearer tok-2']) {
      expect((await send(url, 'PUT', '/metrics/job/j', { authorization }, Buffer.from(TEXT))).status).toBe(200);
    }
    expect(sent).toHaveLength(4);
  });
});

describe('Remote Write receive', () => {
  const request1: WriteRequest = {
    timeseries: [
      { labels: { __name__: 'up', job: 'api', instance: 'h1:9100' }, samples: [{ value: 1, timestamp: 1000 }] },
      { labels: { __name__: 'http_requests_total', job: 'api', instance: 'h1:9100', code: '200' }, samples: [{ value: 5, timestamp: 1000 }] },
      { labels: { __name__: 'up', job: 'api', instance: 'h2:9100' }, samples: [{ value: 0, timestamp: 1000 }] },
      { labels: { __name__: 'cluster_cpu', env: 'prod' }, samples: [{ value: 0.5, timestamp: 1000 }] },
    ],
  };

  it('204, one message per (job, instance), keyed by job, bodies decode back to the series', async () => {
    const { url, sent } = await start();
    for (const path of ['/api/v1/write', '/api/v1/prom/write']) {
      const res = await send(url, 'POST', path, { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' }, Buffer.from(compress(encodeWriteRequest(request1))));
      expect(res.status).toBe(204);
    }
    expect(sent).toHaveLength(2);
    const messages = sent[0]!;
    expect(messages.map((m) => [m.key, m.headers['prom-relay-job'], m.headers['prom-relay-grouping']])).toEqual([
      ['job=api', 'api', 'instance=h1%3A9100'],
      ['job=api', 'api', 'instance=h2%3A9100'],
      ['job=remote_write', 'remote_write', undefined],
    ]);
    for (const m of messages) {
      expect(m.headers['content-type']).toBe('application/x-protobuf');
      expect(m.headers['content-encoding']).toBe('snappy');
      expect(m.headers['prom-relay-producer']).toMatch(/^remote-write\/job=(api&instance=h[12]%3A9100|remote_write)$/);
    }
    const decoded = messages.flatMap((m) => decodeWriteRequest(decompress(m.value)).timeseries);
    expect(decoded).toEqual(request1.timeseries);
  });

  it('Remote Write 2.0: 204 with the written-counts headers, messages in 2.0 carrying the series metadata', async () => {
    const { url, sent } = await start();
    const req: WriteRequest = { ...request1, metadata: [{ type: 'counter', metricFamilyName: 'http_requests_total', help: 'Requests.' }] };
    const res = await send(url, 'POST', '/api/v1/write', { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'content-encoding': 'snappy' }, Buffer.from(compress(encodeWriteRequestV2(req))));
    expect(res.status).toBe(204);
    expect(res.headers['x-prometheus-remote-write-samples-written']).toBe('4');
    expect(res.headers['x-prometheus-remote-write-histograms-written']).toBe('0');
    const messages = sent[0]!;
    expect(messages.map((m) => m.headers['content-type'])).toEqual(Array(3).fill('application/x-protobuf;proto=io.prometheus.write.v2.Request'));
    const first = decodeWriteRequestV2(decompress(messages[0]!.value));
    expect(first.timeseries.map((t) => t.labels.__name__)).toEqual(['up', 'http_requests_total']);
    expect(first.metadata).toContainEqual(expect.objectContaining({ type: 'counter', metricFamilyName: 'http_requests_total' }));
  });

  it('metadata sent on its own is attached to later series of that family', async () => {
    const { url, sent } = await start();
    const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };
    const meta = { timeseries: [], metadata: [{ type: 'counter' as const, metricFamilyName: 'http_requests_total', help: 'Requests.' }] };
    expect((await send(url, 'POST', '/api/v1/write', headers, Buffer.from(compress(encodeWriteRequest(meta))))).status).toBe(204);
    expect(sent).toHaveLength(0);
    expect((await send(url, 'POST', '/api/v1/write', headers, Buffer.from(compress(encodeWriteRequest(request1))))).status).toBe(204);
    const h1 = decodeWriteRequest(decompress(sent[0]![0]!.value));
    expect(h1.metadata).toEqual(meta.metadata);
    const h2 = decodeWriteRequest(decompress(sent[0]![1]!.value));
    expect(h2.metadata ?? []).toEqual([]);
  });

  it('400 for bytes that are not snappy or not a WriteRequest, 415 for other media types, 405 for GET', async () => {
    const { url, sent } = await start();
    const pb = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };
    const notSnappy = await send(url, 'POST', '/api/v1/write', pb, Buffer.from([0x05, 0xff, 0xff]));
    expect(notSnappy.status).toBe(400);
    expect(notSnappy.text).toMatch(/snappy/);
    expect((await send(url, 'POST', '/api/v1/write', pb, Buffer.from(compress(Buffer.from([0x0a, 0x05, 0x01]))))).status).toBe(400);
    expect((await send(url, 'POST', '/api/v1/write', { 'content-type': 'application/json' }, Buffer.from('{}'))).status).toBe(415);
    expect((await send(url, 'POST', '/api/v1/write', { ...pb, 'content-encoding': 'gzip' }, Buffer.from('x'))).status).toBe(415);
    expect((await send(url, 'GET', '/api/v1/write', {})).status).toBe(405);
    expect(sent).toHaveLength(0);
  });
});
