// Pushgateway clients pushing into the ingest, which produces to the real test broker; messages read back from Kafka.
import { request } from 'node:http';
import { decodeWriteRequest, decodeWriteRequestV2, decompress, parseExposition } from '@prom-relay/codec';
import type { TimeSeries } from '@prom-relay/codec';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { PushgatewayClient, RemoteWriteClient } from '@prom-relay/push-client';
import { parseMessageHeaders } from '@prom-relay/emitter';
import { Counter, Gauge, Histogram, Pushgateway, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectKafka } from '../../src/kafka/index.js';
import type { RelayProducer } from '../../src/kafka/index.js';
import { readUntil, topicMessageCount } from './kafka-read.js';
import type { ReadMessage } from './kafka-read.js';
import { serveIngest } from './serve.js';
import type { ServedIngest } from './serve.js';

/** The text a push message carries: the ingest writes pushes snappy-compressed (`content-encoding: snappy`). */
function pushedText(m: Pick<ReadMessage, 'value' | 'headers'>): string {
  return m.headers['content-encoding'] === 'snappy' ? Buffer.from(decompress(m.value)).toString() : m.value.toString();
}

const USER = 'team-a';
const PASSWORD = 'pw-team-a';

function jobRegistry(): Registry {
  const registry = new Registry();
  new Counter({ name: 'rows_written_total', help: 'Rows.', labelNames: ['table'], registers: [registry] }).inc({ table: 'users' }, 120);
  new Gauge({ name: 'queue_depth', help: 'Depth.', registers: [registry] }).set(7);
  const h = new Histogram({ name: 'step_seconds', help: 'Step.', buckets: [0.1, 1], registers: [registry] });
  h.observe(0.05);
  h.observe(0.5);
  return registry;
}

let producer: RelayProducer;
const servers: ServedIngest[] = [];

async function ingestFor(topic: string, maxBodyBytes = 1024 * 1024): Promise<string> {
  const served = await serveIngest({ send: (m) => producer.send(topic, m), auth: { basic: [{ username: USER, password: PASSWORD }] }, maxBodyBytes });
  servers.push(served);
  return served.url;
}

beforeAll(async () => {
  producer = await connectKafka({ brokers: testKafkaBrokers(), clientId: 'ingest-test' }).producer();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await producer.disconnect();
});

describe('Pushgateway clients into the ingest, read back from Kafka', () => {
  it("prom-client's own Pushgateway: push, pushAdd and delete arrive with the documented headers and bodies", async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'ingest-pc', partitions: 3 });
    const url = await ingestFor(topic);
    const registry = jobRegistry();
    const gateway = new Pushgateway(url, { auth: `${USER}:${PASSWORD}`, timeout: 5000 }, registry);
    await gateway.push({ jobName: 'batch-report', groupings: { instance: 'worker-1', region: 'eu' } });
    await gateway.pushAdd({ jobName: 'batch-report', groupings: { instance: 'worker-2', region: 'eu' } });
    await gateway.delete({ jobName: 'batch-report', groupings: { instance: 'worker-1', region: 'eu' } });

    const messages = await readUntil(brokers, topic, (all) => all.length >= 3);
    expect(messages).toHaveLength(3);
    expect(new Set(messages.map((m) => m.key))).toEqual(new Set(['job=batch-report,region=eu']));
    const metas = messages.map((m) => parseMessageHeaders(m.headers));
    expect(metas.map((m) => [m.op, m.grouping.instance])).toEqual([['push', 'worker-1'], ['add', 'worker-2'], ['delete', 'worker-1']]);
    for (const m of metas) {
      expect(m).toMatchObject({ contentType: 'text/plain; version=0.0.4', job: 'batch-report', grouping: { region: 'eu' } });
      expect(m.producerId).toBe(`pushgateway/job=batch-report&instance=${m.grouping.instance}&region=eu`);
    }
    const expected = await registry.metrics();
    expect(pushedText(messages[0]!)).toBe(expected);
    expect(pushedText(messages[1]!)).toBe(expected);
    expect(messages[2]!.value.length).toBe(0);
    const families = parseExposition(pushedText(messages[0]!));
    expect(families.map((f) => [f.name, f.type])).toEqual([['rows_written_total', 'counter'], ['queue_depth', 'gauge'], ['step_seconds', 'histogram']]);
  }, 60_000);

  it('our PushgatewayClient: @base64 grouping values with slashes arrive decoded', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'ingest-ours' });
    const url = await ingestFor(topic);
    const registry = jobRegistry();
    const client = new PushgatewayClient(url, 'nightly/export').grouping('instance', 'host-1').grouping('path', '/var/data').collector(registry).basicAuth(USER, PASSWORD);
    const pushed = await client.push();
    expect(pushed.status).toBe('success');
    const added = await client.add();
    expect(added.status).toBe('success');
    client.close();

    const messages = await readUntil(brokers, topic, (all) => all.length >= 2);
    const metas = messages.map((m) => parseMessageHeaders(m.headers));
    expect(metas.map((m) => m.op)).toEqual(['push', 'add']);
    expect(metas[0]).toMatchObject({ job: 'nightly/export', grouping: { instance: 'host-1', path: '/var/data' } });
    expect(messages[0]!.key).toBe('job=nightly%2Fexport,path=%2Fvar%2Fdata');
    expect(pushedText(messages[0]!)).toBe(await registry.metrics());
  }, 60_000);

  it('malformed, oversized and unauthenticated requests get 400/413/401 and leave Kafka untouched', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'ingest-bad' });
    const url = await ingestFor(topic, 4096);
    const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    const put = (path: string, headers: Record<string, string>, body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${url}${path}`, { method: 'PUT', headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    expect(await put('/metrics/job/j', { authorization: auth }, 'rows_total{table="users" 1\n')).toBe(400);
    expect(await put('/metrics/job/j', { authorization: auth }, `# ${'x'.repeat(10_000)}\n`)).toBe(413);
    expect(await put('/metrics/job/j', {}, 'rows_total 1\n')).toBe(401);
    expect(await put('/metrics/job/j', { authorization: `Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}` }, 'rows_total 1\n')).toBe(401);
    expect(await put('/metrics/job/j/instance', { authorization: auth }, 'rows_total 1\n')).toBe(400);
    expect(await topicMessageCount(brokers, topic)).toBe(0);
    // a good push afterwards lands: the topic was reachable all along
    expect(await put('/metrics/job/j', { authorization: auth }, 'rows_total 1\n')).toBe(200);
    expect(await topicMessageCount(brokers, topic)).toBe(1);
  }, 60_000);

  it('concurrent pushes, coalesced into shared sends: each group lands in Kafka in the order the ingest took them', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'ingest-order', partitions: 3 });
    // The order in which the ingest handed each group's pushes to Kafka: the order Kafka must keep per key.
    const handed = new Map<string, string[]>();
    const sends: number[] = [];
    // The first send is held a moment, so the pushes behind it queue up and the next send carries several groups
    // (without it, a fast enough ingest may hand every push over on its own and nothing here would be coalesced).
    let held = false;
    const served = await serveIngest({
      send: async (messages) => {
        sends.push(new Set(messages.map((m) => m.key)).size);
        for (const m of messages) handed.set(String(m.key), [...(handed.get(String(m.key)) ?? []), pushedText(m)]);
        if (!held) {
          held = true;
          await new Promise((r) => setTimeout(r, 300));
        }
        return producer.send(topic, messages);
      },
    });
    servers.push(served);
    const GROUPS = 5;
    const PUSHES = 20;
    const put = (path: string, body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${served.url}${path}`, { method: 'PUT' }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    // All 100 pushes in flight at once, several per group, so batches overlap and carry many groups each.
    const statuses = await Promise.all(
      Array.from({ length: GROUPS * PUSHES }, (_, i) => put(`/metrics/job/order/shard/s${i % GROUPS}`, `# TYPE seq gauge\nseq ${Math.floor(i / GROUPS)}\n`)),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(Math.max(...sends)).toBeGreaterThan(1);
    // Then each group pushes one at a time (a job waits for its 200), all groups at once: the client's order is the order.
    const SEQUENTIAL = 10;
    await Promise.all(
      Array.from({ length: GROUPS }, async (_, g) => {
        for (let k = 0; k < SEQUENTIAL; k++) expect(await put(`/metrics/job/order/shard/s${g}`, `# TYPE seq gauge\nseq ${100 + k}\n`)).toBe(200);
      }),
    );

    const messages = await readUntil(brokers, topic, (all) => all.length >= GROUPS * (PUSHES + SEQUENTIAL));
    const landed = new Map<string, string[]>();
    for (const m of messages) landed.set(m.key, [...(landed.get(m.key) ?? []), pushedText(m)]);
    expect([...landed.keys()].sort()).toEqual(Array.from({ length: GROUPS }, (_, g) => `job=order,shard=s${g}`));
    for (const [key, bodies] of landed) {
      expect(bodies).toHaveLength(PUSHES + SEQUENTIAL);
      expect(bodies).toEqual(handed.get(key));
      expect(bodies.slice(PUSHES)).toEqual(Array.from({ length: SEQUENTIAL }, (_, k) => `# TYPE seq gauge\nseq ${100 + k}\n`));
    }
  }, 60_000);

  it('our RemoteWriteClient, v1 and v2: series arrive per (job, instance) in the version sent, decoding back equal', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'ingest-rwc' });
    const url = await ingestFor(topic);
    const now = Date.now();
    const series: TimeSeries[] = [
      { labels: { __name__: 'jobs_done_total', job: 'etl', instance: 'w-1', stage: 'load' }, samples: [{ value: 41, timestamp: now - 1000 }, { value: 42, timestamp: now }] },
      { labels: { __name__: 'queue_depth', job: 'etl', instance: 'w-2' }, samples: [{ value: 3.25, timestamp: now }] },
    ];
    for (const protocol of ['v1', 'v2'] as const) {
      const client = new RemoteWriteClient({ url: `${url}/api/v1/write`, protocol, basicAuth: { username: USER, password: PASSWORD } });
      const result = await client.write(series);
      expect(result.status).toBe('success');
      expect(result.counts.samplesSent).toBe(3);
      await client.close();
    }
    // the client may order series its own way: compare per version, sorted by instance
    const byInstance = (a: { headers: Record<string, string> }, b: { headers: Record<string, string> }) => a.headers['prom-relay-grouping']!.localeCompare(b.headers['prom-relay-grouping']!);
    const read = await readUntil(brokers, topic, (all) => all.length >= 4);
    const messages = [...read.slice(0, 2).sort(byInstance), ...read.slice(2).sort(byInstance)];
    expect(messages.map((m) => [m.headers['content-type'], m.headers['prom-relay-grouping']])).toEqual([
      ['application/x-protobuf', 'instance=w-1'],
      ['application/x-protobuf', 'instance=w-2'],
      ['application/x-protobuf;proto=io.prometheus.write.v2.Request', 'instance=w-1'],
      ['application/x-protobuf;proto=io.prometheus.write.v2.Request', 'instance=w-2'],
    ]);
    for (const m of messages) expect(m.key).toBe('job=etl');
    const v1 = messages.slice(0, 2).flatMap((m) => decodeWriteRequest(decompress(m.value)).timeseries);
    const v2 = messages.slice(2).flatMap((m) => decodeWriteRequestV2(decompress(m.value)).timeseries);
    expect(v1).toEqual(series);
    expect(v2.map(({ labels, samples }) => ({ labels, samples }))).toEqual(series);
  }, 60_000);
});
