// Guards issue 11 item 4 end to end: native histograms from four producers at different schemas (integer and float,
// Remote Write 2.0 messages on Kafka scattered over partitions, Remote Write 1.0 through the ingest, one producer
// restarting) reach Prometheus 3 as one merged native histogram, exactly: Prometheus 3 answers histogram_count,
// histogram_sum, every bucket and histogram_quantile as it does for an oracle histogram written straight to it, built
// from the raw observations at the coarsest schema. Counters in the same bodies stay exact, and every relayed sample
// came with its metadata.
import { encodeWriteRequestSnappy, encodeWriteRequestV2, encodeWriteRequestV2Snappy, type Histogram, type TimeSeries, type WriteRequest } from '@prom-relay/codec';
import { startPrometheus3 } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { toWire, type NativeHistogram } from '../../src/aggregate/native-histogram.js';
import { eventually, relayTestEnvironment, stopRelay } from '../e2e/harness.js';
import { metricSum } from '../e2e/receivers.js';
import { bucketOf, rng } from '../aggregate/fixtures.js';

// The first run on a machine builds Prometheus 3 (minutes).
const env = relayTestEnvironment({ receiver: startPrometheus3, timeoutMs: 900_000 });

const ZERO_THRESHOLD = 2.938735877055719e-39; // the Go client's default (2^-128)

function histogramOf(values: number[], schema: number, float: boolean, timestamp: number): Histogram {
  const h: NativeHistogram = { schema, zeroThreshold: ZERO_THRESHOLD, zeroCount: 0, count: values.length, sum: 0, positive: new Map(), negative: new Map(), float };
  for (const v of values) {
    h.sum += v;
    if (Math.abs(v) <= ZERO_THRESHOLD) h.zeroCount++;
    else {
      const side = v > 0 ? h.positive : h.negative;
      const i = bucketOf(v, schema);
      side.set(i, (side.get(i) ?? 0) + 1);
    }
  }
  return { ...toWire(h, timestamp), resetHint: 'unknown' };
}

function request(values: number[], schema: number, float: boolean, rows: number): WriteRequest {
  const now = Date.now();
  const series: TimeSeries[] = [
    { labels: { __name__: 'nh_latency_seconds', route: '/api' }, samples: [], histograms: [histogramOf(values, schema, float, now)] },
    { labels: { __name__: 'nh_rows_total', route: '/api' }, samples: [{ value: rows, timestamp: now }] },
  ];
  return {
    timeseries: series,
    metadata: [
      { metricFamilyName: 'nh_latency_seconds', type: 'histogram', help: 'Latency.' },
      { metricFamilyName: 'nh_rows_total', type: 'counter', help: 'Rows.' },
    ],
  };
}

/** A Remote Write 1.0 body as a scraping Prometheus sends it: job and instance in the labels. */
function withTarget(req: WriteRequest, job: string): Uint8Array {
  return encodeWriteRequestSnappy({ ...req, timeseries: req.timeseries.map((t) => ({ ...t, labels: { ...t.labels, job, instance: 'rw1-sender' } })) });
}

interface PromHistogram {
  count: string;
  sum: string;
  buckets?: Array<[number, string, string, string]>;
}

async function histogramAt(promql: string): Promise<PromHistogram | undefined> {
  const res = await fetch(`${env.prom.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { data: { result: Array<{ histogram?: [number, PromHistogram] }> } };
  return body.data.result[0]?.histogram?.[1];
}

it.each(['2.0', '1.0'])('four producers of one native histogram, at schemas 3, 2, 1 and 0, merge on Prometheus 3 exactly as the observations say (relay sends %s)', async (protocol) => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 4 });
  const relay = await env.startRelay(
    env.relayConfig({ topic, extra: { remote_write: { url: prom.remoteWriteUrl, protocol, retry_max_elapsed: '2s', timeout: '2s' } } }),
  );
  const job = `nh-${protocol}`;
  const random = rng(20261201);
  const observe = () => {
    const r = random();
    const magnitude = Math.pow(10, random() * 5 - 3);
    return r < 0.03 ? 0 : r < 0.15 ? -magnitude : magnitude;
  };
  const all: number[] = [];
  let rowsTotal = 0;
  // Kafka producers: RW 2.0 messages, each on a random partition (the relay forwards them home).
  const kafkaProducers = [
    { id: 'p-schema3', schema: 3, float: false },
    { id: 'p-schema2-float', schema: 2, float: true },
    { id: 'p-schema1', schema: 1, float: false },
  ];
  const state = new Map(kafkaProducers.map((p) => [p.id, { run: p.id, values: [] as number[], rows: 0, seq: 0 }]));
  for (let round = 0; round < 4; round++) {
    for (const p of kafkaProducers) {
      const s = state.get(p.id)!;
      if (p.id === 'p-schema1' && round === 2) {
        // The process restarts (a new run, a new producer id): its cumulative histogram and counter start again.
        s.run = `${p.id}-run2`;
        s.values = [];
        s.rows = 0;
        s.seq = 0;
      }
      for (let i = 0; i < 30; i++) {
        const v = observe();
        s.values.push(v);
        all.push(v);
      }
      s.rows += 5;
      rowsTotal += 5;
      await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            partition: Math.floor(random() * 4),
            value: Buffer.from(encodeWriteRequestV2(request(s.values, p.schema, p.float, s.rows))),
            headers: {
              'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
              'prom-relay-job': job,
              'prom-relay-grouping': `instance=${p.id}`,
              'prom-relay-producer': s.run,
              'prom-relay-seq': String(s.seq++),
            },
          },
        ],
      });
    }
  }
  // A Remote Write 1.0 sender through the ingest, at schema 0.
  const values: number[] = [];
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 40; i++) {
      const v = observe();
      values.push(v);
      all.push(v);
    }
    const res = await fetch(`${relay.url}/api/v1/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
      body: withTarget(request(values, 0, false, (round + 1) * 7), job),
    });
    expect(res.status, await res.text()).toBe(204);
  }
  rowsTotal += 14;

  // The oracle: all observations bucketed at schema 0, written straight to Prometheus 3.
  const oracle: WriteRequest = {
    timeseries: [{ labels: { __name__: 'oracle_latency_seconds', protocol }, samples: [], histograms: [histogramOf(all, 0, false, Date.now())] }],
    metadata: [{ metricFamilyName: 'oracle_latency_seconds', type: 'histogram', help: 'The oracle.' }],
  };
  const oracleRes = await fetch(prom.remoteWriteUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '2.0.0' },
    body: encodeWriteRequestV2Snappy(oracle),
  });
  expect(oracleRes.status, await oracleRes.text()).toBe(204);

  const merged = await eventually(
    () => histogramAt(`nh_latency_seconds{job="${job}",route="/api"}`),
    (h) => h !== undefined && Number(h.count) === all.length,
    60_000,
  );
  const want = (await histogramAt(`oracle_latency_seconds{protocol="${protocol}"}`))!;
  expect(Number(merged!.count)).toBe(all.length);
  expect(merged!.buckets).toEqual(want.buckets);
  expect(Number(merged!.sum)).toBeCloseTo(Number(want.sum), 6);
  for (const q of [0.1, 0.5, 0.9, 0.99]) {
    const [got] = await prom.query(`histogram_quantile(${q}, nh_latency_seconds{job="${job}"})`);
    const [expected] = await prom.query(`histogram_quantile(${q}, oracle_latency_seconds{protocol="${protocol}"})`);
    expect(got!.value).toBeCloseTo(expected!.value, 9);
  }
  const [rows] = await eventually(() => prom.query(`nh_rows_total{job="${job}"}`), (v) => v.length === 1 && v[0]!.value === rowsTotal, 30_000);
  expect(rows!.value).toBe(rowsTotal);
  expect(await stopRelay(relay)).toBe(0);
  expect(await metricSum(prom.url, 'prometheus_api_remote_write_without_metadata_appended_samples_total')).toBe(0);
}, 900_000);
