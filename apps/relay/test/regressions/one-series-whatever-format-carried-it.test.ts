// Guards exactness when one producer carries one series in two formats. The emitter (@prom-relay/emitter) pushes a
// registry snapshot as text (`push`) and samples as JSON lines (`emit`) under one producer id, and any Kafka producer
// may write text, Remote Write or the protobuf delimited format with the same headers (docs/message-format.md). The
// aggregate looked text points up by the hash of their identity and points that arrive as labels (Remote Write, JSON
// lines, native histograms of a protobuf push) by the hash of their labels key: the same series became two input
// series, the producer's counter baseline was not shared, and the total counted the cumulative value twice (10 then
// 15 made 25, not 15). Through the real decode path (decodeRecord of a Kafka record). Found by review (2026-12-02).
//
// Not reachable through the HTTP ingest alone: a Pushgateway push and a Remote Write request of one group are two
// producers (`pushgateway/job=…` and `remote-write/job=…`, src/ingest/producer-id.ts), and two producers' counters add
// up by design; a Pushgateway push in the protobuf format keeps its producer id, and its counters reach the aggregate
// as text (converted, or decoded through the text decoder: decode/metric-family.ts), found as such.
import { readFileSync } from 'node:fs';
import { encodeWriteRequest } from '@prom-relay/codec';
import type { Labels, WriteRequest } from '@prom-relay/codec';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { labelsKey } from '../../src/aggregate/labels.js';
import { decodeRecord, type KafkaRecord } from '../../src/decode/index.js';
import { textIdentityHash } from '../../src/decode/text-point.js';
import { labelsKeyIdentity, labelsKeyIdentityHash, seriesIdentity, seriesIdentityHash } from '../../src/decode/identity.js';
import type { IngestBatch } from '../../src/model.js';
import { byId, options, rng } from '../aggregate/fixtures.js';

// io.prometheus.client metrics.proto, the fields a counter needs; protobufjs is the independent encoder.
const MetricFamily = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Counter: { fields: { value: { type: 'double', id: 1 } } },
    Metric: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, counter: { type: 'Counter', id: 3 } } },
    MetricFamily: { fields: { name: { type: 'string', id: 1 }, help: { type: 'string', id: 2 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
  },
}).lookupType('MetricFamily');

const CONTENT_TYPE = {
  text: 'text/plain; version=0.0.4',
  json: 'application/x-ndjson',
  rw: 'application/x-protobuf',
  proto: 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited',
} as const;
type Format = keyof typeof CONTENT_TYPE;

const JOB = 'export';

/** One producer's pushes, in sequence, as Kafka records; `grouping` as the header carries it. */
class Producer {
  constructor(
    private readonly grouping = 'instance=w1&shard=1',
    private readonly id = 'p1',
    /** the sequence number of its last push */
    private seq = 0,
  ) {}

  batch(format: Format, body: Buffer | string): IngestBatch {
    const rec: KafkaRecord = {
      topic: 't',
      partition: 0,
      offset: String(this.seq),
      key: null,
      value: Buffer.from(body),
      headers: {
        'content-type': Buffer.from(CONTENT_TYPE[format]),
        'prom-relay-job': Buffer.from(JOB),
        'prom-relay-producer': Buffer.from(this.id),
        'prom-relay-grouping': Buffer.from(this.grouping),
        'prom-relay-seq': Buffer.from(String(++this.seq)),
      },
    };
    return decodeRecord(rec, {});
  }

  /** The header's grouping as labels (a Remote Write sender writes them on its series). */
  get groupingLabels(): Labels {
    return Object.fromEntries(new URLSearchParams(this.grouping));
  }
}

/** A counter `name` with `labels` and `value`, in `format`. */
function body(format: Format, name: string, labels: Labels, value: number, producer: Producer): Buffer | string {
  switch (format) {
    case 'text': {
      const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
      return `# TYPE ${name} counter\n${name}{${pairs.join(',')}} ${value}\n`;
    }
    case 'json':
      return `${JSON.stringify({ name, type: 'counter', labels, value })}\n`;
    case 'rw': {
      const req: WriteRequest = {
        timeseries: [{ labels: { __name__: name, ...labels, job: JOB, ...producer.groupingLabels }, samples: [{ value, timestamp: 1 }] }],
        metadata: [{ metricFamilyName: name, type: 'counter' }],
      };
      return Buffer.from(encodeWriteRequest(req));
    }
    case 'proto': {
      const family = { name, type: 0, metric: [{ label: Object.entries(labels).map(([n, v]) => ({ name: n, value: v })), counter: { value } }] };
      return Buffer.from(MetricFamily.encodeDelimited(MetricFamily.fromObject(family)).finish());
    }
  }
}

function push(agg: PartitionAggregate, producer: Producer, format: Format, labels: Labels, value: number, at: number, name = 'rows_total'): void {
  const result = agg.apply(producer.batch(format, body(format, name, labels, value, producer)), at);
  expect(result.accepted, `${format} push of ${value}`).toBe(1);
}

const FORMATS: Format[] = ['text', 'json', 'rw', 'proto'];
const PAIRS = FORMATS.flatMap((a) => FORMATS.filter((b) => b !== a).map((b) => [a, b] as const));
const OUT = 'rows_total{a="1",b="2",job="export",shard="1"}';

describe('one series of one producer is one input series whatever format carried it', () => {
  it.each(PAIRS)('%s, then %s: the total is the last cumulative value', (first, second) => {
    const agg = new PartitionAggregate(options());
    const producer = new Producer();
    push(agg, producer, first, { a: '1', b: '2' }, 10, 1000);
    push(agg, producer, second, { b: '2', a: '1' }, 15, 2000);
    push(agg, producer, first, { a: '1', b: '2' }, 16, 3000);
    expect(byId(agg.collect(4000))).toEqual({ [OUT]: 16 });
  });

  it('without producer labels in the grouping (the header set is the scope), text then Remote Write and JSON lines', () => {
    const agg = new PartitionAggregate(options());
    const producer = new Producer('shard=1');
    push(agg, producer, 'text', { a: '1' }, 10, 1000);
    push(agg, producer, 'rw', { a: '1' }, 15, 2000);
    push(agg, producer, 'json', { a: '1' }, 17, 3000);
    expect(byId(agg.collect(4000))).toEqual({ 'rows_total{a="1",job="export",shard="1"}': 17 });
  });

  it('labels spelled another way across formats (order, an empty label, a body label the headers override) stay one series', () => {
    const agg = new PartitionAggregate(options());
    const producer = new Producer();
    const text = `# TYPE rows_total counter\nrows_total{ b = "2" , job="other", z="", a="1", } 10\n`;
    expect(agg.apply(producer.batch('text', text), 1000).accepted).toBe(1);
    push(agg, producer, 'json', { z: '', a: '1', b: '2' }, 12, 2000);
    push(agg, producer, 'rw', { a: '1', b: '2' }, 13, 3000);
    push(agg, producer, 'proto', { b: '2', z: '', a: '1' }, 14, 4000);
    expect(byId(agg.collect(5000))).toEqual({ [OUT]: 14 });
  });

  it.each(FORMATS.filter((f) => f !== 'text'))('a text body that also writes the producer label its headers set (instance), and %s: one series', (other) => {
    // The headers' `instance` overrides the body's (Pushgateway's rule): the body's copy names nothing else.
    for (const written of ['w1', 'elsewhere']) {
      const agg = new PartitionAggregate(options());
      const producer = new Producer();
      const text = (v: number) => `# TYPE rows_total counter\nrows_total{instance="${written}",a="1",b="2"} ${v}\n`;
      expect(agg.apply(producer.batch('text', text(10)), 1000).accepted).toBe(1);
      push(agg, producer, other, { b: '2', a: '1' }, 15, 2000);
      expect(agg.apply(producer.batch('text', text(16)), 3000).accepted).toBe(1);
      push(agg, producer, other, { a: '1', b: '2' }, 18, 4000);
      expect(byId(agg.collect(5000)), `body instance="${written}"`).toEqual({ [OUT]: 18 });
      // and through a checkpoint, the other format first
      const again = PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), options());
      push(again, producer, other, { a: '1', b: '2' }, 19, 6000);
      expect(again.apply(producer.batch('text', text(21)), 7000).accepted).toBe(1);
      expect(byId(again.collect(8000)), `body instance="${written}", restored`).toEqual({ [OUT]: 21 });
    }
  });

  it('a checkpoint written before keys left out a body-written instance restores: the text series keeps its baseline', () => {
    // fixtures/state-body-written-producer-label.json: p1 pushed rows_total{instance="w1",a="1",b="2"} 10 as text under a
    // grouping instance=w1&shard=1, to a relay before this fix (its input holds the key with instance; total 10)
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/state-body-written-producer-label.json', import.meta.url), 'utf8')) as { state: unknown; collected: unknown };
    expect(fixture.collected).toEqual([[{ __name__: 'rows_total', a: '1', b: '2', job: 'export', shard: '1' }, 10]]);
    const agg = PartitionAggregate.fromState(fixture.state, options());
    const p1 = new Producer('instance=w1&shard=1', 'p1', 1);
    expect(agg.apply(p1.batch('text', '# TYPE rows_total counter\nrows_total{instance="w1",a="1",b="2"} 12\n'), 4000).accepted).toBe(1);
    expect(byId(agg.collect(5000))).toEqual({ [OUT]: 12 });
  });

  it('a text body writing instance without the headers setting it keeps two instances apart (two inputs, one output)', () => {
    const agg = new PartitionAggregate(options());
    const producer = new Producer('shard=1');
    const text = (a: number, b: number) => `# TYPE rows_total counter\nrows_total{instance="x",a="1"} ${a}\nrows_total{instance="y",a="1"} ${b}\n`;
    expect(agg.apply(producer.batch('text', text(10, 3)), 1000).accepted).toBe(2);
    expect(agg.apply(producer.batch('text', text(11, 5)), 2000).accepted).toBe(2);
    // instance is a producer label: left out of the output, which sums both instances' counters
    expect(byId(agg.collect(3000))).toEqual({ 'rows_total{a="1",job="export",shard="1"}': 16 });
  });

  it('label values with escapes, quotes, blanks and other characters are one series in text and in labels', () => {
    const agg = new PartitionAggregate(options());
    const producer = new Producer();
    const labels = { path: 'C:\\tmp\\"x"\ny', tab: 'a\tb', unicode: 'zürich ☃', slash: '/a/b' };
    push(agg, producer, 'text', labels, 10, 1000);
    push(agg, producer, 'rw', labels, 15, 2000);
    push(agg, producer, 'json', labels, 16, 3000);
    push(agg, producer, 'text', labels, 18, 4000);
    const out = byId(agg.collect(5000));
    expect(Object.values(out)).toEqual([18]);
  });

  it('series that differ stay apart (another value, another label, another name)', () => {
    const agg = new PartitionAggregate(options());
    const producer = new Producer();
    push(agg, producer, 'text', { a: '1' }, 10, 1000);
    const req: WriteRequest = {
      timeseries: [
        { labels: { __name__: 'rows_total', a: '2', job: JOB, instance: 'w1', shard: '1' }, samples: [{ value: 5, timestamp: 1 }] },
        { labels: { __name__: 'rows_total', a: '1', c: '3', job: JOB, instance: 'w1', shard: '1' }, samples: [{ value: 7, timestamp: 1 }] },
        { labels: { __name__: 'rows_total', a: '1', job: JOB, instance: 'w1', shard: '1' }, samples: [{ value: 12, timestamp: 1 }] },
        { labels: { __name__: 'other_total', a: '1', job: JOB, instance: 'w1', shard: '1' }, samples: [{ value: 3, timestamp: 1 }] },
      ],
      metadata: [
        { metricFamilyName: 'rows_total', type: 'counter' },
        { metricFamilyName: 'other_total', type: 'counter' },
      ],
    };
    expect(agg.apply(producer.batch('rw', Buffer.from(encodeWriteRequest(req))), 2000).accepted).toBe(4);
    expect(byId(agg.collect(3000))).toEqual({
      'rows_total{a="1",job="export",shard="1"}': 12,
      'rows_total{a="2",job="export",shard="1"}': 5,
      'rows_total{a="1",c="3",job="export",shard="1"}': 7,
      'other_total{a="1",job="export",shard="1"}': 3,
    });
  });

  it('holds through a checkpoint: a restored aggregate finds, by labels, a series it restored from text (and back)', () => {
    for (const [first, second] of [
      ['text', 'rw'],
      ['rw', 'text'],
      ['json', 'text'],
    ] as const) {
      const agg = new PartitionAggregate(options());
      const producer = new Producer();
      push(agg, producer, first, { a: '1', b: '2' }, 100, 1000);
      agg.collect(1500);
      const again = PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), options());
      push(again, producer, second, { b: '2', a: '1' }, 101, 2000);
      expect(byId(again.collect(3000)), `${first}, checkpoint, ${second}`).toEqual({ [OUT]: 101 });
    }
  });

  it('a second producer still counts from zero, whichever format it uses', () => {
    const agg = new PartitionAggregate(options());
    const one = new Producer('instance=w1&shard=1', 'p1');
    const two = new Producer('instance=w1&shard=1', 'p2');
    push(agg, one, 'text', { a: '1' }, 10, 1000);
    push(agg, two, 'rw', { a: '1' }, 4, 2000);
    push(agg, one, 'json', { a: '1' }, 11, 3000);
    expect(byId(agg.collect(4000))).toEqual({ 'rows_total{a="1",job="export",shard="1"}': 15 });
  });

  it('a labels key has the identity and the identity hash of the same series written as text (random label sets)', () => {
    const random = rng(20261202);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const CHARS = ['a', 'Z', '0', '_', ' ', '\t', '"', '\\', '\n', '\r', '\u0001', '/', '=', ',', '{', '}', 'ü', '☃', '😀', '\u2028'];
    const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    for (let round = 0; round < 500; round++) {
      const labels: Labels = {};
      const count = Math.floor(random() * 6);
      for (let i = 0; i < count; i++) {
        let value = '';
        const len = Math.floor(random() * 6);
        for (let k = 0; k < len; k++) value += pick(CHARS);
        labels[pick(['a', 'a0', 'a_b', 'b', 'job', 'shard', 'instance', 'le', 'Z'])] = value;
      }
      const grouping = pick(['', 'shard=1', 'instance=w1&shard=1']);
      const overridden = new Set(['job', ...new URLSearchParams(grouping).keys()]);
      const names = Object.keys(labels).sort(() => random() - 0.5);
      const text = `m_total{${names.map((n) => `${pick(['', ' '])}${n}${pick(['=', ' = '])}"${escape(labels[n]!)}"`).join(',')}${names.length > 0 ? pick(['', ',']) : ''}}`;
      const key = labelsKey({ __name__: 'm_total', ...labels });
      const where = `${text} / ${key} / ${[...overridden].join(',')}`;
      expect(labelsKeyIdentityHash(key, overridden), where).toBe(seriesIdentityHash(text, overridden));
      expect(labelsKeyIdentity(key, overridden), where).toBe(seriesIdentity(text, overridden));
      // the hash the text decoder gives the point is the same one
      const batch = decodeRecord({
        topic: 't',
        partition: 0,
        offset: '0',
        key: null,
        value: Buffer.from(`# TYPE m_total counter\n${text} 1\n`),
        headers: { 'content-type': CONTENT_TYPE.text, 'prom-relay-job': JOB, 'prom-relay-producer': 'p', 'prom-relay-grouping': grouping },
      });
      expect(textIdentityHash(batch.points[0]!, overridden), where).toBe(labelsKeyIdentityHash(key, overridden));
    }
  });

  it('a checkpoint written before (one series as two input series, one per format) restores: each producer keeps its baseline', () => {
    // fixtures/state-one-series-as-two-inputs.json: p1 pushed rows_total{b="2",a="1"} 10 as text, p2 the same series
    // 4 by Remote Write, to a relay before this fix (written by its toState; totals 14)
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/state-one-series-as-two-inputs.json', import.meta.url), 'utf8')) as { state: unknown; collected: unknown };
    expect(fixture.collected).toEqual([[{ __name__: 'rows_total', a: '1', b: '2', job: 'export', shard: '1' }, 14]]);
    const agg = PartitionAggregate.fromState(fixture.state, options());
    const p1 = new Producer('instance=w1&shard=1', 'p1', 1);
    const p2 = new Producer('instance=w1&shard=1', 'p2', 1);
    agg.apply(p1.batch('text', '# TYPE rows_total counter\nrows_total{b="2",a="1"} 11\n'), 4000);
    push(agg, p2, 'rw', { a: '1', b: '2' }, 5, 5000);
    expect(byId(agg.collect(6000))).toEqual({ [OUT]: 16 });
    // a new producer, in either format, counts from zero on one of them
    push(agg, new Producer('instance=w1&shard=1', 'p3'), 'json', { b: '2', a: '1' }, 3, 7000);
    expect(byId(agg.collect(8000))).toEqual({ [OUT]: 19 });
  });
});
