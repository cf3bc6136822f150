// Issue 10 item 1: the ingest answered 2xx for requests the consumer then dead-lettered whole (good series included).
// Now every message it produces is one the consumer applies; what the consumer would refuse gets a 4xx naming it,
// and a Remote Write request is written partially (the good series) with `*-Written` counting only those.
import { compress, decompress, encodeWriteRequest, encodeWriteRequestV2 } from '@prom-relay/codec';
import type { Histogram, TimeSeries, WriteRequest } from '@prom-relay/codec';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/decode/index.js';
import type { IngestLogEntry } from '../../src/ingest/index.js';
import { connectKafka } from '../../src/kafka/index.js';
import type { RelayProducer } from '../../src/kafka/index.js';
import { testKafkaBrokers } from '@prom-relay/infra/testing';
import { topicMessageCount } from '../ingest/kafka-read.js';
import { serveIngest, type ServedIngest } from '../ingest/serve.js';
import { RW1, RW2, TEXT, consumerView, readAll, send } from './ingest-helpers.js';

const native: Histogram = {
  count: 3,
  sum: 1.5,
  schema: 0,
  zeroThreshold: 1e-128,
  zeroCount: 0,
  negativeSpans: [],
  negativeDeltas: [],
  negativeCounts: [],
  positiveSpans: [{ offset: 0, length: 1 }],
  positiveDeltas: [3],
  positiveCounts: [],
  resetHint: 'no',
  timestamp: 1_700_000_000_000,
};
// A gauge histogram: no exact merge in the relay, refused (a counter native histogram is written and applied).
const gaugeHistogram: Histogram = { ...native, resetHint: 'gauge' };

const at = 1_700_000_000_000;
const good: TimeSeries = { labels: { __name__: 'rw_good_total', instance: 'i1', job: 'app' }, samples: [{ value: 5, timestamp: at }] };
const goodOtherTarget: TimeSeries = { labels: { __name__: 'rw_good_total', instance: 'i2', job: 'app' }, samples: [{ value: 7, timestamp: at }] };
const noName: TimeSeries = { labels: { instance: 'i1', job: 'app', x: 'y' }, samples: [{ value: 1, timestamp: at }] };
const emptySet: TimeSeries = { labels: {}, samples: [{ value: 1, timestamp: at }] };
const nativeSeries: TimeSeries = { labels: { __name__: 'rw_latency_seconds', instance: 'i2', job: 'app' }, samples: [], histograms: [native] };
const gaugeHistogramSeries: TimeSeries = { labels: { __name__: 'rw_queue_seconds', instance: 'i1', job: 'app' }, samples: [], histograms: [gaugeHistogram] };

const request: WriteRequest = {
  timeseries: [good, noName, emptySet, gaugeHistogramSeries, nativeSeries, goodOtherTarget],
  metadata: [{ metricFamilyName: 'rw_good_total', type: 'counter', help: '', unit: '' }],
};

let producer: RelayProducer;
const servers: ServedIngest[] = [];
let logs: IngestLogEntry[] = [];

async function ingestFor(topic: string, inlineBodyBytes?: number): Promise<string> {
  const served = await serveIngest({ send: (m) => producer.send(topic, m), log: (e) => logs.push(e), ...(inlineBodyBytes !== undefined ? { inlineBodyBytes } : {}) });
  servers.push(served);
  return served.url;
}

beforeAll(async () => {
  producer = await connectKafka({ brokers: testKafkaBrokers(), clientId: 'never-acks-dropped' }).producer();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await producer.disconnect();
});

/** Every message in the topic: none is one the consumer would dead-letter; the points it would apply, by series. */
async function appliedByConsumer(topic: string, count: number): Promise<Map<string, number>> {
  const messages = await readAll(topic, count);
  expect(messages).toHaveLength(count);
  const points = new Map<string, number>();
  for (const m of messages) {
    const view = consumerView(m);
    expect(view instanceof DecodeError ? `${view.code}: ${view.message}` : 'applied').toBe('applied');
    for (const p of (view as Exclude<typeof view, DecodeError>).points) points.set(`${p.labels['__name__']}/${p.labels['instance']}`, p.value);
  }
  return points;
}

describe('the ingest acknowledges only what the consumer applies', () => {
  it('Remote Write 1.0: good series and a native histogram written, the series without __name__, the empty label set and the gauge histogram named in a 400', async () => {
    const topic = await createTestTopic({ prefix: 'never-acks-rw1' });
    const url = await ingestFor(topic);
    logs = [];
    const res = await send(url, 'POST', '/api/v1/write', RW1, Buffer.from(compress(encodeWriteRequest(request))));
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^PROM_RELAY_INGEST_(LABELS|UNSUPPORTED): 3 series refused, 3 written \(2 samples\)/);
    expect(res.text).toContain('has no __name__');
    expect(res.text).toContain('rw_queue_seconds{instance="i1",job="app"}');
    expect(res.text).toContain('gauge histogram');
    // the 400 is counted under its code (what prom_relay_ingest_requests_total{code} is fed from)
    expect(logs.map((l) => [l.status, l.code])).toEqual([[400, res.text.slice(0, res.text.indexOf(':'))]]);

    // both targets' good series are in Kafka, and the consumer applies every message there
    const applied = await appliedByConsumer(topic, 2);
    expect(Object.fromEntries(applied)).toEqual({ 'rw_good_total/i1': 5, 'rw_good_total/i2': 7, 'rw_latency_seconds/i2': 0 });
  }, 60_000);

  it('Remote Write 2.0: the *-Written headers count only the series written', async () => {
    const topic = await createTestTopic({ prefix: 'never-acks-rw2' });
    const url = await ingestFor(topic);
    const res = await send(url, 'POST', '/api/v1/write', RW2, Buffer.from(compress(encodeWriteRequestV2(request))));
    expect(res.status).toBe(400);
    expect(res.headers['x-prometheus-remote-write-samples-written']).toBe('2');
    expect(res.headers['x-prometheus-remote-write-histograms-written']).toBe('1');
    expect(res.text).toContain('gauge histogram');
    const applied = await appliedByConsumer(topic, 2);
    expect(Object.fromEntries(applied)).toEqual({ 'rw_good_total/i1': 5, 'rw_good_total/i2': 7, 'rw_latency_seconds/i2': 0 });
  }, 60_000);

  it('a request with nothing the consumer refuses is written whole: 204', async () => {
    const topic = await createTestTopic({ prefix: 'never-acks-ok' });
    const url = await ingestFor(topic);
    const res = await send(url, 'POST', '/api/v1/write', RW2, Buffer.from(compress(encodeWriteRequestV2({ timeseries: [good, goodOtherTarget] }))));
    expect(res.status).toBe(204);
    expect(res.headers['x-prometheus-remote-write-samples-written']).toBe('2');
    expect(Object.fromEntries(await appliedByConsumer(topic, 2))).toEqual({ 'rw_good_total/i1': 5, 'rw_good_total/i2': 7 });
  }, 60_000);

  it('Pushgateway: a body that is not UTF-8 is a 400 and never reaches Kafka', async () => {
    const topic = await createTestTopic({ prefix: 'never-acks-utf8' });
    const url = await ingestFor(topic);
    const body = Buffer.concat([Buffer.from('# TYPE pg_rows_total counter\npg_rows_total{table="'), Buffer.from([0xc3, 0x28]), Buffer.from('"} 3\n')]);
    const res = await send(url, 'PUT', '/metrics/job/utf8-check', TEXT, body);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^PROM_RELAY_INGEST_BODY: .*not valid UTF-8/);
    // a good push after it is the only message in the topic
    expect((await send(url, 'PUT', '/metrics/job/utf8-check', TEXT, '# TYPE pg_rows_total counter\npg_rows_total 3\n')).status).toBe(200);
    expect(Object.fromEntries(await appliedByConsumer(topic, 1))).toEqual({ 'pg_rows_total/undefined': 3 });
    expect(await topicMessageCount(testKafkaBrokers(), topic)).toBe(1);
  }, 60_000);

  it('a group pushing the same lines again (checked against its last body) is refused the moment a value is', async () => {
    const topic = await createTestTopic({ prefix: 'never-acks-again' });
    const url = await ingestFor(topic);
    const body = (rows: string, gauge: string) => `# TYPE again_rows_total counter\nagain_rows_total{t="a"} ${rows}\n# TYPE again_temp gauge\nagain_temp ${gauge}\n`;
    const push = (text: string) => send(url, 'PUT', '/metrics/job/again/instance/i1', TEXT, text);
    expect((await push(body('5', '20'))).status).toBe(200);
    // other values, same lines: a gauge may go negative, a counter may not, nor be a word
    expect((await push(body('7.5', '-3'))).status).toBe(200);
    const negative = await push(body('-1', '20'));
    expect(negative.status).toBe(400);
    expect(negative.text).toMatch(/^PROM_RELAY_INGEST_VALUE: counter series again_rows_total\{.*\} has value -1 \(negative\)/);
    const word = await push(body('many', '20'));
    expect(word.status).toBe(400);
    expect(word.text).toMatch(/^PROM_RELAY_INGEST_BODY: text exposition does not parse \(line 2, column \d+\): invalid value "many"/);
    // the same series twice, the lines otherwise as before
    const twice = await push(`${body('9', '20')}again_rows_total{t="a"} 1\n`);
    expect(twice.status).toBe(400);
    expect(twice.text).toMatch(/^PROM_RELAY_INGEST_DUPLICATE/);
    expect((await push(body('9', '21'))).status).toBe(200);
    expect(await topicMessageCount(testKafkaBrokers(), topic)).toBe(3);
  }, 60_000);

  it('a big push (decoded in the worker thread) is refused the same way', async () => {
    const topic = await createTestTopic({ prefix: 'never-acks-big' });
    const url = await ingestFor(topic);
    const lines = ['# TYPE big_rows_total counter'];
    for (let i = 0; i < 20_000; i++) lines.push(`big_rows_total{shard="${i}"} ${i}`);
    lines.push('big_rows_total{shard="last"} +Inf');
    const res = await send(url, 'PUT', '/metrics/job/big', TEXT, `${lines.join('\n')}\n`);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^PROM_RELAY_INGEST_VALUE: counter series big_rows_total\{job="big",shard="last"\} has value \+Inf/);
    expect(await topicMessageCount(testKafkaBrokers(), topic)).toBe(0);
  }, 60_000);

  it('every push checked in the worker thread (inlineBodyBytes 0): protobuf converted there arrives as text, refusals are the same', async () => {
    const topic = await createTestTopic({ prefix: 'never-acks-worker' });
    const url = await ingestFor(topic, 0);
    // MetricFamily {name: "rows_total", type: COUNTER, metric: [{counter: {value: 5}}]}, length-delimited
    const value = Buffer.alloc(8);
    value.writeDoubleLE(5);
    const metric = Buffer.concat([Buffer.from([0x1a, 0x09, 0x09]), value]);
    const family = Buffer.concat([Buffer.from([0x0a, 10]), Buffer.from('rows_total'), Buffer.from([0x18, 0x00, 0x22, metric.length]), metric]);
    const proto = { 'content-type': 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited' };
    expect((await send(url, 'PUT', '/metrics/job/go-job', proto, Buffer.concat([Buffer.from([family.length]), family]))).status).toBe(200);
    const refused = await send(url, 'PUT', '/metrics/job/go-job', TEXT, '# TYPE rows_total counter\nrows_total -1\n');
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/^PROM_RELAY_INGEST_VALUE: counter series rows_total\{job="go-job"\} has value -1 \(negative\)/);
    const messages = await readAll(topic, 1);
    // checked in the worker, written snappy-compressed (the consumer reads content-encoding)
    expect(messages[0]!.headers['content-encoding']).toBe('snappy');
    expect(Buffer.from(decompress(messages[0]!.value)).toString()).toBe('# TYPE rows_total counter\nrows_total 5\n');
    expect(Object.fromEntries(await appliedByConsumer(topic, 1))).toEqual({ 'rows_total/undefined': 5 });
    expect(await topicMessageCount(testKafkaBrokers(), topic)).toBe(1);
  }, 60_000);

  it("the consumer's label limits (passed as decode options, as the pipeline does) are the ingest's: 400 LIMIT", async () => {
    const topic = await createTestTopic({ prefix: 'never-acks-limit' });
    const served = await serveIngest({ send: (m) => producer.send(topic, m), decode: { limits: { maxLabelsPerSeries: 4, maxLabelValueLength: 8 } } });
    servers.push(served);
    // the name, the job and two body labels: 4, within the limit (the aggregate counts the job and grouping labels)
    expect((await send(served.url, 'PUT', '/metrics/job/lim', TEXT, 'lim_rows_total{a="1",b="2"} 1\n')).status).toBe(200);
    // a body past the limit by itself: the parser's error; within it, but not with the job: the aggregate's count
    const many = await send(served.url, 'PUT', '/metrics/job/lim', TEXT, 'lim_rows_total{a="1",b="2",c="3",d="4"} 1\n');
    expect(many.status).toBe(400);
    expect(many.text).toMatch(/^PROM_RELAY_INGEST_LIMIT: text exposition breaks a limit \(line 1, column \d+\): .*maxLabelsPerSeries/);
    const withJob = await send(served.url, 'PUT', '/metrics/job/lim', TEXT, 'lim_rows_total{a="1",b="2",c="3"} 1\n');
    expect(withJob.status).toBe(400);
    expect(withJob.text).toMatch(/^PROM_RELAY_INGEST_LIMIT: series lim_rows_total\{.*\} has 5 labels \(its name, job and grouping labels counted\), more than 4 \(limit maxLabelsPerSeries\)/);
    const long = await send(served.url, 'PUT', '/metrics/job/lim', TEXT, 'lim_rows_total{a="123456789"} 1\n');
    expect(long.status).toBe(400);
    expect(long.text).toContain('maxLabelValueLength');
    expect(await topicMessageCount(testKafkaBrokers(), topic)).toBe(1);
  }, 60_000);
});
