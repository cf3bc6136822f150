// Guards issue 10's promise as a whole: mutated bodies of every accepted format, on both paths (Kafka records and the
// HTTP ingest's Pushgateway and Remote Write routes), while legitimate producers run. The legitimate totals come out
// exact and never go down, every hostile record is either applied or dead-lettered (no partition stalls, lag drains),
// /healthz keeps answering, and the relay's RSS and event-loop delay are recorded.
import { randomUUID } from 'node:crypto';
import { compress, encodeWriteRequest, encodeWriteRequestV2, parseExposition } from '@prom-relay/codec';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, Ledger, orderViolations, relayTestEnvironment, runFleet, settledTotals, stopRelay } from '../e2e/harness.js';
import { rng } from '../aggregate/fixtures.js';
import { RW1, RW2, send, TEXT } from './ingest-helpers.js';

const env = relayTestEnvironment();

const SEED = Number(process.env['HOSTILE_SEED'] ?? 20261201);
// mulberry32: a failing run can be replayed from the seed in the test name.
const rand = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

/** Bytes flipped, cut, repeated, or spliced with hostile fragments. */
function mutate(body: Buffer): Buffer {
  const out = Buffer.from(body);
  const at = Math.floor(rand() * Math.max(1, out.length));
  switch (Math.floor(rand() * 6)) {
    case 0:
      out[at] = Math.floor(rand() * 256);
      return out;
    case 1:
      return out.subarray(0, at);
    case 2:
      return Buffer.concat([out.subarray(0, at), out.subarray(at, at + 40), out.subarray(at)]);
    case 3:
      return Buffer.concat([out.subarray(0, at), Buffer.from(pick(['\u0000', '\xff\xfe', '{{{{{{{{', 'NaN', '+Inf', '1e309', '"', '\\', '\n\n# TYPE x gauge\n', ',a="b"'])), out.subarray(at)]);
    case 4:
      return Buffer.concat([out, Buffer.from(`x{${Array.from({ length: 200 }, (_, i) => `l${i}="v"`).join(',')}} 1\n`)]);
    default:
      return Buffer.concat([out, Buffer.from('['.repeat(5000))]);
  }
}

const textBody = (v: number) => Buffer.from(`# TYPE hostile_rows_total counter\nhostile_rows_total{t="a"} ${v}\n# TYPE hostile_temp gauge\nhostile_temp 21.5\n`);
const jsonBody = (v: number) => Buffer.from(`{"name":"hostile_rows_total","type":"counter","value":${v},"labels":{"t":"a"}}\n`);
const rwRequest = (v: number) => ({ timeseries: [{ labels: { __name__: 'hostile_rw_total', job: 'hostile-rw', t: 'a' }, samples: [{ value: v, timestamp: Date.now() }] }] });

function hostileRecord(i: number): { key: string | null; value: Buffer; headers: Record<string, string> } {
  const format = pick(['text', 'json', 'rw1', 'rw2'] as const);
  const body =
    format === 'text' ? textBody(i) : format === 'json' ? jsonBody(i) : Buffer.from(compress(format === 'rw1' ? encodeWriteRequest(rwRequest(i)) : encodeWriteRequestV2(rwRequest(i))));
  const contentType = { text: CONTENT_TYPE.text, json: CONTENT_TYPE.ndjson, rw1: CONTENT_TYPE.remoteWriteV1, rw2: CONTENT_TYPE.remoteWriteV2 }[format];
  const msg = buildMessage({ contentType, job: `hostile-${format}`, grouping: { instance: `h${i}` }, producerId: randomUUID(), sequence: 0 }, rand() < 0.85 ? mutate(body) : body);
  const headers: Record<string, string> = { ...msg.headers, ...(format.startsWith('rw') ? { 'content-encoding': 'snappy' } : {}) };
  // Sometimes the headers are the hostile part.
  if (rand() < 0.15) headers[pick(['prom-relay-seq', 'prom-relay-temporality', 'content-type', 'prom-relay-grouping', 'prom-relay-job'])] = pick(['-1', 'x', '', '%zz', 'job=a&job=b', '\u0001']);
  return { key: rand() < 0.3 ? null : msg.key, value: msg.value, headers };
}

/** Counter totals the 2xx'd Pushgateway pushes promise: a 2xx means applied. */
const promised = new Map<string, { labels: Record<string, string>; value: number }>();

function promise(job: string, body: Buffer): void {
  for (const family of parseExposition(body.toString('utf8'))) {
    if (family.type !== 'counter') continue;
    for (const sample of family.samples) {
      const labels: Record<string, string> = { ...sample.labels, __name__: sample.name, job };
      delete labels['instance'];
      for (const [k, v] of Object.entries(labels)) if (v === '') delete labels[k];
      const key = JSON.stringify(Object.entries(labels).sort());
      const entry = promised.get(key) ?? { labels, value: 0 };
      entry.value += sample.value;
      promised.set(key, entry);
    }
  }
}

async function hostileRequest(baseUrl: string, i: number): Promise<number> {
  switch (Math.floor(rand() * 3)) {
    case 0: {
      const body = mutate(textBody(i));
      // A job of its own: a mutated TYPE line cannot make another push's counter a gauge (first type seen wins).
      const { status } = await send(baseUrl, 'PUT', `/metrics/job/hostile-pg-${i}/instance/h${i}`, TEXT, body);
      if (status === 200) promise(`hostile-pg-${i}`, body);
      return status;
    }
    case 1:
      return (await send(baseUrl, 'POST', '/api/v1/write', RW1, mutate(Buffer.from(compress(encodeWriteRequest(rwRequest(i))))))).status;
    default:
      return (await send(baseUrl, 'POST', '/api/v1/write', RW2, mutate(Buffer.from(compress(encodeWriteRequestV2(rwRequest(i))))))).status;
  }
}

async function relayMetrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function sum(metrics: string, name: string): number {
  return [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
}

it(`mutated bodies on every path beside legitimate producers: legit totals exact, nothing stalls, the relay answers (seed ${SEED})`, async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 3 });
  const config = env.relayConfig({ topic });
  const relay = await env.startRelay(config);
  const url = relay.url;

  // The relay's health while under attack: /healthz latency, RSS and event-loop delay, sampled throughout.
  const health = { maxHealthzMs: 0, maxRssBytes: 0, maxLoopDelaySeconds: 0, samples: 0 };
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const t0 = performance.now();
      const ok = (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) })).status === 200;
      expect(ok).toBe(true);
      health.maxHealthzMs = Math.max(health.maxHealthzMs, performance.now() - t0);
      const m = await relayMetrics(url);
      health.maxRssBytes = Math.max(health.maxRssBytes, sum(m, 'prom_relay_process_resident_memory_bytes'));
      health.maxLoopDelaySeconds = Math.max(health.maxLoopDelaySeconds, sum(m, 'prom_relay_nodejs_eventloop_lag_max_seconds'));
      health.samples++;
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  const ledger = new Ledger();
  const legit = runFleet({
    send: (messages) => producer.send({ topic, acks: -1, messages }).then(() => undefined),
    jobs: ['legit-a', 'legit-b'],
    runs: 30,
    pushesPerRun: 4,
    overlap: 4,
    pauseMs: 50,
    ledger,
  });
  let records = 0;
  const statuses = new Map<number, number>();
  for (let i = 0; i < 240; i++) {
    const batch = Array.from({ length: 2 }, (_, j) => hostileRecord(i * 2 + j));
    await producer.send({ topic, acks: -1, messages: batch });
    records += batch.length;
    const status = await hostileRequest(url, i);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    expect(status === 200 || status === 204 || (status >= 400 && status < 500)).toBe(true);
  }
  await legit;

  const seen = await settledTotals(prom, ledger, 60_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await orderViolations(prom)).toEqual([]);

  // What the ingest acknowledged was applied: every counter of a 2xx'd push is in its total.
  for (const { labels, value } of promised.values()) {
    const selector = `{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
    const got = await eventually(() => prom.query(selector), (r) => r.length === 1 && r[0]!.value === value, 30_000);
    expect({ selector, value: got[0]?.value }).toEqual({ selector, value });
  }

  // Nothing stalls: every record of the input topic is applied, forwarded or dead-lettered, and the lag drains.
  const drained = await eventually(
    async () => relayMetrics(url),
    (m) => sum(m, 'prom_relay_consumer_lag') === 0 && sum(m, 'prom_relay_partition_stalled_seconds') === 0,
    60_000,
  );
  expect(sum(drained, 'prom_relay_dead_letters_total')).toBeGreaterThan(0);
  expect(sum(drained, 'prom_relay_dead_letters_failed_total')).toBe(0);
  expect((await fetch(`${url}/readyz`)).status).toBe(200);

  watching = false;
  await watcher;
  // Recorded, not timed: printed for the issue's notes. Bounds are generous (a shared, loaded machine).
  console.log(JSON.stringify({ seed: SEED, hostileKafkaRecords: records, promisedCounters: promised.size, httpStatuses: Object.fromEntries(statuses), ...health }));
  expect(health.samples).toBeGreaterThan(3);
  expect(health.maxRssBytes).toBeLessThan(1024 * 1024 * 1024);
  expect(relay.child.exitCode).toBe(null);
  expect(await stopRelay(relay)).toBe(0);
}, 240_000);
