// Native histograms in the Go client's protobuf push format (issue 11 item 4). A real Go job (test/ingest/go-push/native,
// client_golang's push package, NativeHistogramBucketFactor 1.1) pushes into the ingest; the message the ingest would
// produce is read back with the consumer's own decodeRecord, and each native histogram must say exactly what the job
// observed: schema, zero bucket, every bucket's count, sum, count. protobufjs covers the float form.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compress, decompress } from '@prom-relay/codec';
import type { BucketSpan, Histogram } from '@prom-relay/codec';
import protobuf from 'protobufjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeRecord } from '../../src/decode/index.js';
import type { IngestMessage } from '../../src/ingest/index.js';
import type { InputPoint } from '../../src/model.js';
import { serveIngest, type ServedIngest } from './serve.js';

const run = promisify(execFile);
const GO_MODULE = resolve(dirname(fileURLToPath(import.meta.url)), 'go-push');
/** The observations of test/ingest/go-push/native/main.go. */
const LOAD = [0, 0.0013, 0.0042, 0.0042, 0.031, 0.25, 0.25, 0.25, 1, 1.7, 2.5, 60, -0.3];
const SAVE = [0.005, 0.07, 0.07, 0.4, 3];
/** client_golang's default zero threshold, 2^-128. */
const GO_ZERO_THRESHOLD = 2 ** -128;

let goJob: string;
let served: ServedIngest | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

beforeAll(async () => {
  goJob = join(mkdtempSync(join(tmpdir(), 'go-push-native-')), 'native');
  await run('go', ['build', '-buildvcs=false', '-o', goJob, './native'], { cwd: GO_MODULE, timeout: 240_000 }).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ENOENT' ? 'the Go toolchain (go) is not on PATH: it builds the Go push client this test runs' : `go build failed: ${err.message}`);
  });
}, 300_000);

/** The record as Kafka hands it to the consumer: header values as bytes. */
function asRecord(m: IngestMessage) {
  const headers = Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, Buffer.from(v)]));
  return { topic: 't', partition: 0, offset: '0', key: Buffer.from(m.key), value: m.value, headers };
}

/** Index of the schema-3 bucket holding |v|: bucket i is (2^((i-1)/8), 2^(i/8)] (no observation sits on a boundary but 1). */
function bucketIndex(v: number): number {
  return Math.ceil(Math.log2(Math.abs(v)) * 8);
}

/** Expected bucket counts by index for the observations on one side of zero. */
function expectedBuckets(observations: number[], sign: 1 | -1): Map<number, number> {
  const out = new Map<number, number>();
  for (const v of observations) {
    if (Math.abs(v) <= GO_ZERO_THRESHOLD || Math.sign(v) !== sign) continue;
    const i = bucketIndex(v);
    out.set(i, (out.get(i) ?? 0) + 1);
  }
  return out;
}

/** Spans plus deltas (integer histograms) or counts (float ones) as absolute counts by bucket index. */
function buckets(spans: BucketSpan[], deltas: number[], counts: number[]): Map<number, number> {
  const out = new Map<number, number>();
  let index = 0;
  let at = 0;
  let running = 0;
  for (const span of spans) {
    index += span.offset; // the first span's offset is its start, the others' the gap after the previous span
    for (let k = 0; k < span.length; k++) {
      const count = counts.length > 0 ? counts[at]! : (running += deltas[at]!);
      if (count !== 0) out.set(index, count);
      index++;
      at++;
    }
  }
  return out;
}

async function pushWithGo(instance: string, inlineBodyBytes?: number): Promise<InputPoint[]> {
  const sent: IngestMessage[] = [];
  served = await serveIngest({ send: async (m) => void sent.push(...m), ...(inlineBodyBytes !== undefined ? { inlineBodyBytes } : {}) });
  await run(goJob, [served.url, 'go-nightly', instance], { timeout: 30_000 });
  expect(sent).toHaveLength(1);
  const message = sent[0]!;
  // Text cannot carry a native histogram: the push goes to Kafka as it came.
  expect(message.headers['content-type']).toBe('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
  const batch = decodeRecord(asRecord(message));
  expect(batch.metadata).toEqual(
    expect.arrayContaining([
      { metricFamilyName: 'go_job_latency_seconds', type: 'histogram', help: 'Stage latency.' },
      { metricFamilyName: 'go_job_idle_seconds', type: 'histogram', help: 'Idle time.' },
    ]),
  );
  return batch.points;
}

function nativeOf(points: InputPoint[], family: string): InputPoint {
  const found = points.filter((p) => p.histogram !== undefined && p.family === family);
  expect(found).toHaveLength(1);
  return found[0]!;
}

function checkAgainstObservations(h: Histogram, observations: number[]): void {
  expect(h.isFloat).toBeUndefined();
  expect(h.schema).toBe(3); // factor 1.1: the largest schema whose growth 2^(2^-3) = 1.0905 stays within it
  expect(h.zeroThreshold).toBe(GO_ZERO_THRESHOLD);
  expect(h.zeroCount).toBe(observations.filter((v) => Math.abs(v) <= GO_ZERO_THRESHOLD).length);
  expect(h.count).toBe(observations.length);
  expect(h.sum).toBeCloseTo(observations.reduce((a, b) => a + b, 0), 9);
  expect(buckets(h.positiveSpans, h.positiveDeltas, h.positiveCounts)).toEqual(expectedBuckets(observations, 1));
  expect(buckets(h.negativeSpans, h.negativeDeltas, h.negativeCounts)).toEqual(expectedBuckets(observations, -1));
}

describe("the Go client's native histograms (protobuf delimited push)", () => {
  for (const [how, inline] of [
    ['checked on the event loop', undefined],
    ['checked in the ingest worker thread (big body)', 0],
  ] as const) {
    it(`decodes each native histogram as the Go job observed it, ${how}`, async () => {
      const points = await pushWithGo('host-1', inline);
      const load = nativeOf(points, 'go_job_latency_seconds');
      expect(load).toMatchObject({ type: 'histogram', value: 0, labels: { __name__: 'go_job_latency_seconds', stage: 'load', job: 'go-nightly', instance: 'host-1' } });
      checkAgainstObservations(load.histogram!, LOAD);
      expect(load.histogram!.negativeSpans.length).toBeGreaterThan(0); // -0.3 is a negative bucket
      // A native histogram without classic buckets is that alone: no _bucket, _sum or _count series.
      expect(points.filter((p) => p.family === 'go_job_latency_seconds' && p.histogram === undefined)).toEqual([]);

      // Native and classic buckets: both, as Prometheus with always_scrape_classic_histograms.
      const save = nativeOf(points, 'go_job_save_seconds');
      checkAgainstObservations(save.histogram!, SAVE);
      const classic = Object.fromEntries(points.filter((p) => p.family === 'go_job_save_seconds' && p.histogram === undefined).map((p) => [`${p.labels['__name__']}${p.labels['le'] ?? ''}`, p.value]));
      expect(classic).toEqual({
        'go_job_save_seconds_bucket0.01': 1,
        'go_job_save_seconds_bucket0.1': 3,
        go_job_save_seconds_bucket1: 4,
        go_job_save_seconds_bucket10: 5,
        'go_job_save_seconds_bucket+Inf': 5,
        go_job_save_seconds_sum: SAVE.reduce((a, b) => a + b, 0),
        go_job_save_seconds_count: 5,
      });

      // No observations and a zero threshold of 0: the client's no-op span marks it native; it carries nothing.
      const idle = nativeOf(points, 'go_job_idle_seconds').histogram!;
      expect(idle).toMatchObject({ count: 0, sum: 0, schema: 3, zeroThreshold: 0, zeroCount: 0, positiveSpans: [], negativeSpans: [], timestamp: 0 });

      expect(points.find((p) => p.family === 'go_job_rows_total')).toMatchObject({ type: 'counter', value: 42 });
    }, 60_000);
  }
});

// client_model metrics.proto, the fields a float native histogram needs; protobufjs is the independent encoder.
const root = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    BucketSpan: { fields: { offset: { type: 'sint32', id: 1 }, length: { type: 'uint32', id: 2 } } },
    Bucket: { fields: { cumulativeCount: { type: 'uint64', id: 1 }, upperBound: { type: 'double', id: 2 } } },
    Histogram: {
      fields: {
        sampleCount: { type: 'uint64', id: 1 },
        sampleCountFloat: { type: 'double', id: 4 },
        sampleSum: { type: 'double', id: 2 },
        bucket: { rule: 'repeated', type: 'Bucket', id: 3 },
        schema: { type: 'sint32', id: 5 },
        zeroThreshold: { type: 'double', id: 6 },
        zeroCount: { type: 'uint64', id: 7 },
        zeroCountFloat: { type: 'double', id: 8 },
        negativeSpan: { rule: 'repeated', type: 'BucketSpan', id: 9 },
        negativeCount: { rule: 'repeated', type: 'double', id: 11 },
        positiveSpan: { rule: 'repeated', type: 'BucketSpan', id: 12 },
        positiveCount: { rule: 'repeated', type: 'double', id: 14 },
      },
    },
    Metric: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, timestampMs: { type: 'int64', id: 6 }, histogram: { type: 'Histogram', id: 7 } } },
    MetricFamily: { fields: { name: { type: 'string', id: 1 }, help: { type: 'string', id: 2 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
  },
});
const MetricFamily = root.lookupType('MetricFamily');
const delimited = (families: object[]) => Buffer.concat(families.map((f) => Buffer.from(MetricFamily.encodeDelimited(MetricFamily.fromObject(f)).finish())));
const PROTO = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

async function pushBody(body: Buffer): Promise<{ status: number; text: string; sent: IngestMessage[] }> {
  const sent: IngestMessage[] = [];
  served = await serveIngest({ send: async (m) => void sent.push(...m) });
  const res = await fetch(`${served.url}/metrics/job/batch/instance/h`, { method: 'PUT', headers: { 'content-type': PROTO }, body });
  return { status: res.status, text: await res.text(), sent };
}

describe('native histograms in the MetricFamily format, by protobufjs', () => {
  it('reads a float histogram (counts, float count and zero count); its timestamp is refused in a push (as a Pushgateway does) and read from a Kafka record', async () => {
    const stampedBody = (timestampMs?: number) =>
      delimited([
        {
          name: 'job_weight',
          type: 4,
          metric: [
            {
              label: [{ name: 'shard', value: '7' }],
              ...(timestampMs !== undefined ? { timestampMs } : {}),
              histogram: {
                sampleCountFloat: 6.5,
                sampleSum: 12.25,
                schema: 0,
                zeroThreshold: 0.001,
                zeroCountFloat: 0.5,
                positiveSpan: [{ offset: 1, length: 2 }, { offset: 2, length: 1 }],
                positiveCount: [1.5, 2, 1],
                negativeSpan: [{ offset: 0, length: 1 }],
                negativeCount: [1.5],
              },
            },
          ],
        },
      ]);
    const stamped = await pushBody(stampedBody(1_700_000_000_123));
    expect(stamped.status).toBe(400);
    expect(stamped.text).toMatch(/^PROM_RELAY_INGEST_BODY: pushed metrics must not have timestamps \(series job_weight\{shard="7"\}\)/);
    expect(stamped.sent).toEqual([]);
    await served?.close();
    const { status, sent } = await pushBody(stampedBody());
    expect(status).toBe(200);
    expect(decodeRecord(asRecord(sent[0]!)).points[0]!.histogram!.timestamp).toBe(0);
    // The same message from a Kafka producer, with the timestamp: the decoder reads it.
    const points = decodeRecord(asRecord({ ...sent[0]!, value: Buffer.from(compress(stampedBody(1_700_000_000_123))) })).points;
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ family: 'job_weight', type: 'histogram', value: 0, labels: { __name__: 'job_weight', shard: '7', job: 'batch', instance: 'h' } });
    expect(points[0]!.histogram).toEqual({
      isFloat: true,
      count: 6.5,
      sum: 12.25,
      schema: 0,
      zeroThreshold: 0.001,
      zeroCount: 0.5,
      negativeSpans: [{ offset: 0, length: 1 }],
      negativeDeltas: [],
      negativeCounts: [1.5],
      positiveSpans: [{ offset: 1, length: 2 }, { offset: 2, length: 1 }],
      positiveDeltas: [],
      positiveCounts: [1.5, 2, 1],
      resetHint: 'unknown',
      timestamp: 1_700_000_000_123,
    });
  });

  it('leaves a classic histogram as it was: text exposition on Kafka, buckets, _sum and _count', async () => {
    const { status, sent } = await pushBody(
      delimited([{ name: 'job_size', type: 4, metric: [{ histogram: { sampleCount: 3, sampleSum: 7, bucket: [{ cumulativeCount: 1, upperBound: 1 }, { cumulativeCount: 3, upperBound: 5 }] } }] }]),
    );
    expect(status).toBe(200);
    expect(sent[0]!.headers['content-type']).toMatch(/^text\/plain/);
    expect(Buffer.from(decompress(sent[0]!.value)).toString()).toContain('job_size_bucket{le="+Inf"} 3');
    const points = decodeRecord(asRecord(sent[0]!)).points;
    expect(points.every((p) => p.histogram === undefined)).toBe(true);
    expect(points.map((p) => p.labels['__name__'])).toEqual(['job_size_bucket', 'job_size_bucket', 'job_size_bucket', 'job_size_sum', 'job_size_count']);
  });

  it('refuses a native histogram the aggregate cannot apply exactly, naming it (negative bucket count; custom buckets)', async () => {
    const negative = await pushBody(delimited([{ name: 'job_w', type: 4, metric: [{ histogram: { sampleCountFloat: 1, schema: 0, positiveSpan: [{ offset: 0, length: 1 }], positiveCount: [-1] } }] }]));
    expect(negative.status).toBe(400);
    expect(negative.text).toMatch(/^PROM_RELAY_INGEST_VALUE: native histogram job_w: positive bucket 0 has count -1/);
    const custom = await pushBody(delimited([{ name: 'job_c', type: 4, metric: [{ histogram: { sampleCount: 1, schema: -53, positiveSpan: [{ offset: 0, length: 1 }] } }] }]));
    expect(custom.status).toBe(400);
    expect(custom.text).toMatch(/native histogram job_c: schema -53/);
    expect([...negative.sent, ...custom.sent]).toEqual([]);
  });

  it('refuses a native histogram whose packed counts run past their message, naming the byte', async () => {
    const good = delimited([{ name: 'job_w', type: 4, metric: [{ histogram: { sampleCountFloat: 1, schema: 0, positiveSpan: [{ offset: 0, length: 1 }], positiveCount: [1] } }] }]);
    // The packed positive_count (field 14, wire 2: tag 0x72) holds 8 bytes; make it say 16, past its message's end.
    const bad = Buffer.from(good);
    const at = bad.lastIndexOf(0x72);
    expect(bad[at + 1]).toBe(8);
    bad[at + 1] = 16;
    const { status, text, sent } = await pushBody(bad);
    expect(status).toBe(400);
    expect(text).toMatch(/protobuf MetricFamily body: .* at byte \d+/);
    expect(sent).toEqual([]);
  });
});
