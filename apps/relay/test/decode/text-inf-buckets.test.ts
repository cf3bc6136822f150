// A classic histogram pushed as text without a `le="+Inf"` bucket gets one (its `_count`), as the Pushgateway serves it
// (text-inf-buckets.ts). The cases below are what prometheus-pushgateway 1.5.1 served for each body (the regression
// test histogram-without-inf-bucket-gets-one-as-by-pushgateway pushes the main ones to a real one).
import type { ExpositionLimits } from '@prom-relay/codec';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeExpositionText, decodeRecord } from '../../src/decode/index.js';
import { identitiesBuiltSoFar } from '../../src/decode/identity.js';
import { TextSkeleton } from '../../src/decode/text-skeleton.js';
import { textBodyPasses } from '../../src/decode/text.js';
import { rng } from '../aggregate/fixtures.js';
import { viaCodec } from './codec-reference.js';

const GROUPING = { instance: 'h1' };

/** The series decoded (key as written, or made) with their values. */
function series(text: string, grouping: Record<string, string> = GROUPING, limits: ExpositionLimits = {}): string[] {
  return decodeExpositionText(text, 'job1', grouping, limits).map((p) => `${p.key} ${p.value}`);
}

const TEXT = 'text/plain; version=0.0.4';
const PROTOBUF = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** decodeRecord of this body as a push of job1 with these grouping labels. */
function decode(body: string | Buffer, grouping: Record<string, string> = GROUPING, limits: ExpositionLimits = {}, contentType = TEXT) {
  return decodeRecord(
    {
      topic: 't',
      partition: 0,
      offset: '0',
      key: null,
      value: Buffer.from(body),
      headers: { 'content-type': contentType, 'prom-relay-job': 'job1', 'prom-relay-grouping': new URLSearchParams(grouping).toString(), 'prom-relay-producer': 'p' },
    },
    { limits },
  );
}

/** decodeRecord's answer for this body as a push of job1 with these grouping labels: taken, or its error code. */
function consumer(text: string, grouping: Record<string, string> = GROUPING, limits: ExpositionLimits = {}): string {
  try {
    decode(text, grouping, limits);
    return 'taken';
  } catch (error) {
    if (error instanceof DecodeError) return error.code;
    throw error;
  }
}

describe('the le="+Inf" bucket a text histogram implies', () => {
  it('is added with the _count value where the instance has buckets and a _count but no +Inf bucket', () => {
    expect(series('# TYPE lat histogram\nlat_bucket{le="1"} 2\nlat_bucket{le="5"} 3\nlat_sum 7\nlat_count 4\n')).toEqual([
      'lat_bucket{le="1"} 2',
      'lat_bucket{le="5"} 3',
      'lat_sum 7',
      'lat_count 4',
      'lat_bucket{le="+Inf"} 4',
    ]);
    const [point] = decodeExpositionText('# TYPE lat histogram\nlat_count{a="x"} 4\nlat_bucket{a="x",le="2"} 1\n', 'job1', GROUPING).slice(-1);
    expect(point).toMatchObject({ family: 'lat', type: 'histogram', value: 4, labels: { __name__: 'lat_bucket', a: 'x', le: '+Inf', job: 'job1', instance: 'h1' } });
  });

  it('is not added without a _count (the Pushgateway would serve _count 0 and a +Inf bucket 0 below the finite ones)', () => {
    expect(series('# TYPE lat histogram\nlat_bucket{le="1"} 2\nlat_bucket{le="5"} 3\nlat_sum 7\n')).toEqual(['lat_bucket{le="1"} 2', 'lat_bucket{le="5"} 3', 'lat_sum 7']);
  });

  it('is not added without buckets: _sum and _count alone, as a JSON line without "buckets" (the Pushgateway adds one)', () => {
    expect(series('# TYPE lat histogram\nlat_sum 7\nlat_count 4\nlat_bucket{a="x",le="1"} 1\nlat_count{a="y"} 2\n')).toEqual([
      'lat_sum 7',
      'lat_count 4',
      'lat_bucket{a="x",le="1"} 1',
      'lat_count{a="y"} 2',
    ]);
  });

  it('is not added where a +Inf bucket is written, in any spelling Go reads as +Inf, even one that differs from the _count', () => {
    for (const le of ['+Inf', 'Inf', 'inf', '+inf', 'INF', 'Infinity', '+infinity']) {
      expect(series(`# TYPE lat histogram\nlat_bucket{le="1"} 2\nlat_bucket{le="${le}"} 3\nlat_count 4\n`)).toEqual(['lat_bucket{le="1"} 2', `lat_bucket{le="${le}"} 3`, 'lat_count 4']);
    }
    // 1e400 and "Inf " are no +Inf to Prometheus (histogram_quantile skips a bucket whose le does not parse)
    expect(series('# TYPE lat histogram\nlat_bucket{le="1e400"} 3\nlat_count 4\n')).toContain('lat_bucket{le="+Inf"} 4');
    expect(series('# TYPE lat histogram\nlat_bucket{le="Inf "} 3\nlat_count 4\n')).toContain('lat_bucket{le="+Inf"} 4');
  });

  it('finds an instance by its labels but le: any order, blanks, empty values, labels the headers override', () => {
    const text = [
      '# TYPE lat histogram',
      'lat_count{a="x",b="y"} 4',
      'lat_bucket{b="y",le="1",a="x"} 2',
      'lat_bucket{ a="x" , b="z" , le="+Inf" , } 9',
      'lat_count{b="z",a="x",c=""} 9',
      'lat_bucket{job="other",le="+Inf",a="w"} 1',
      'lat_count{a="w"} 1',
      'lat_count{a="v", } 3',
      'lat_bucket{le="9",a="v"} 3',
      '',
    ].join('\n');
    expect(series(text).slice(8)).toEqual(['lat_bucket{a="x",b="y",le="+Inf"} 4', 'lat_bucket{a="v",le="+Inf"} 3']);
    expect(consumer(text)).toBe('taken');
    expect(textBodyPasses(text, 'job1', GROUPING)).toBe(true);
  });

  it('is added to the histogram family only, never for a _count with its own le label, nor when a grouping label is le', () => {
    expect(series('# TYPE lat summary\nlat_sum 7\nlat_count 4\n')).toEqual(['lat_sum 7', 'lat_count 4']);
    expect(series('lat_bucket{le="1"} 2\nlat_count 4\n')).toEqual(['lat_bucket{le="1"} 2', 'lat_count 4']); // untyped
    expect(series('# TYPE lat histogram\nlat_bucket{le="1"} 2\nlat_count{le="3"} 4\n')).toEqual(['lat_bucket{le="1"} 2', 'lat_count{le="3"} 4']);
    expect(series('# TYPE lat histogram\nlat_bucket{le="1"} 2\nlat_count 4\n', { le: '5' })).toEqual(['lat_bucket{le="1"} 2', 'lat_count 4']);
  });

  it('counts as written at its _count line for the limits and the duplicate check, on both the check and the decode path', () => {
    const text = '# TYPE lat histogram\nlat_bucket{a="x",le="1"} 2\nlat_count{a="x"} 4\n';
    expect(series(text, GROUPING, { maxLabelsPerSeries: 3 })).toHaveLength(3);
    expect(() => series(text, GROUPING, { maxLabelsPerSeries: 2 })).toThrow(/^line 2, column \d+: series lat_bucket has more than 2 labels/);
    // the _count writes two labels (empty: one instance with the bucket), the +Inf bucket made from it three
    const wide = '# TYPE lat histogram\nlat_bucket{le="1"} 2\nlat_count{a="",b=""} 4\n';
    expect(series(wide, GROUPING, { maxLabelsPerSeries: 4 })).toContain('lat_bucket{a="",b="",le="+Inf"} 4');
    expect(() => series(wide, GROUPING, { maxLabelsPerSeries: 3 })).toThrow(/^line 3, column 1: series lat_bucket has more than 3 labels.*: the le="\+Inf" bucket this histogram _count implies/);
    expect(textBodyPasses(wide, 'job1', GROUPING, { maxLabelsPerSeries: 3 })).toBe(false);
    expect(consumer(wide, GROUPING, { maxLabelsPerSeries: 3 })).toBe('PROM_RELAY_DECODE_LIMIT');
    // a _count without labels after a bucket with many: its +Inf bucket has le alone
    expect(series('# TYPE lat histogram\nlat_bucket{a="",b="",le="1"} 2\nlat_count 4\n', GROUPING, { maxLabelsPerSeries: 4 })).toContain('lat_bucket{le="+Inf"} 4');
    // a gauge family named lat_bucket, typed after lat's buckets, holding the very series lat implies: one series twice
    const twice = '# TYPE lat histogram\nlat_bucket{le="1"} 1\nlat_count 4\n# TYPE lat_bucket gauge\nlat_bucket{le="+Inf"} 9\n';
    expect(series(twice)).toEqual(['lat_bucket{le="1"} 1', 'lat_count 4', 'lat_bucket{le="+Inf"} 9', 'lat_bucket{le="+Inf"} 4']);
    expect(textBodyPasses(twice, 'job1', GROUPING)).toBe(false);
    expect(consumer(twice)).toBe('PROM_RELAY_DECODE_DUPLICATE');
  });

  it('comes out of a body a skeleton matched: the consumer decodes it from the same lines', () => {
    const body = (v: number) => `# TYPE lat histogram\nlat_bucket{le="1"} ${v}\nlat_count ${v + 1}\n`;
    expect(textBodyPasses(body(1), 'job1', GROUPING)).toBe(true);
    const skeleton = TextSkeleton.ofPassed(Buffer.from(body(1)))!;
    expect(skeleton.matches(Buffer.from(body(7)))).toBe(true);
    expect(series(body(7))).toEqual(['lat_bucket{le="1"} 7', 'lat_count 8', 'lat_bucket{le="+Inf"} 8']);
    // a _count a running total cannot take is no match (its +Inf bucket would carry it)
    expect(skeleton.matches(Buffer.from('# TYPE lat histogram\nlat_bucket{le="1"} 1\nlat_count -1\n'))).toBe(false);
  });

  it('costs no series identity for a registry body (+Inf written, one label order) and at most two per instance otherwise', () => {
    const instances = 2000;
    const lines = ['# TYPE lat histogram'];
    const shuffled = ['# TYPE lat histogram'];
    for (let i = 0; i < instances; i++) {
      for (const le of ['0.1', '1', '+Inf']) lines.push(`lat_bucket{path="/p${i}",le="${le}"} ${i}`);
      lines.push(`lat_sum{path="/p${i}"} 1`, `lat_count{path="/p${i}"} ${i}`);
      shuffled.push(`lat_bucket{le="+Inf",code="200",path="/p${i}"} ${i}`, `lat_count{path="/p${i}",code="200"} ${i}`);
    }
    let before = identitiesBuiltSoFar();
    expect(decodeExpositionText(lines.join('\n'), 'job1', GROUPING)).toHaveLength(instances * 5);
    expect(textBodyPasses(lines.join('\n'), 'job1', GROUPING)).toBe(true);
    expect(identitiesBuiltSoFar() - before).toBe(0);
    before = identitiesBuiltSoFar();
    expect(decodeExpositionText(shuffled.join('\n'), 'job1', GROUPING)).toHaveLength(instances * 2);
    expect(identitiesBuiltSoFar() - before).toBeLessThanOrEqual(2 * instances);
  });

  it('gives the reference (codec parse + the rule) and a check no looser than decodeRecord, on many generated histogram bodies', () => {
    const rand = rng(23);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const les = ['1', '5', '+Inf', 'Inf', '+inf', 'Infinity', '1e400', ''];
    const labelValues = ['x', 'y', '', 'a\\"b'];
    const labelSet = (le: string | undefined) => {
      const pairs = ['a', 'b', 'job', 'instance'].filter(() => rand() < 0.4).map((k) => `${k}${pick(['=', ' = '])}"${pick(labelValues)}"`);
      if (le !== undefined) pairs.splice(Math.floor(rand() * (pairs.length + 1)), 0, `le="${le}"`);
      if (pairs.length === 0 && rand() < 0.5) return '';
      return `{${pick(['', ' '])}${pairs.join(pick([',', ', ']))}${rand() < 0.2 ? ',' : ''}}`;
    };
    const line = () => {
      const r = rand();
      if (r < 0.45) return `h_bucket${labelSet(rand() < 0.95 ? pick(les) : undefined)} ${pick(['1', '2', '3.5'])}`;
      if (r < 0.75) return `h_count${labelSet(rand() < 0.05 ? pick(les) : undefined)} ${pick(['4', '0', '2.5', '-1'])}`;
      if (r < 0.9) return `h_sum${labelSet(undefined)} 7`;
      return `g${labelSet(undefined)} 1`;
    };
    const outcome = (fn: () => unknown[]): { ok: string[] } | { failed: true } => {
      try {
        return { ok: (fn() as { labels: Record<string, string>; value: number }[]).map((p) => JSON.stringify([Object.entries(p.labels).sort(), p.value])).sort() };
      } catch (error) {
        if (error instanceof DecodeError || (error instanceof Error && 'line' in error)) return { failed: true };
        throw error;
      }
    };
    const seen = { withInf: 0, passed: 0, refused: 0 };
    for (let i = 0; i < 3000; i++) {
      // a gauge family h_bucket (typed before the histogram: its samples are the gauge's) may hold a series h implies
      const text = `${rand() < 0.1 ? '# TYPE h_bucket gauge\n' : ''}${rand() < 0.9 ? '# TYPE h histogram\n' : ''}${Array.from({ length: 1 + Math.floor(rand() * 7) }, line).join('\n')}\n`;
      const grouping = rand() < 0.1 ? { instance: 'h1', a: 'x' } : GROUPING;
      const mine = outcome(() => decodeExpositionText(text, 'job1', grouping));
      expect(mine, text).toEqual(outcome(() => viaCodec(text, 'job1', grouping)));
      if ('ok' in mine && mine.ok.some((p) => p.includes('"le","+Inf"'))) seen.withInf++;
      const verdict = consumer(text, grouping);
      if (textBodyPasses(text, 'job1', grouping)) {
        expect(verdict, text).toBe('taken');
        seen.passed++;
      } else if (verdict !== 'taken') seen.refused++;
    }
    expect(Math.min(seen.withInf, seen.passed, seen.refused)).toBeGreaterThan(200);
  });
});

// io.prometheus.client metrics.proto, the histogram fields; protobufjs is the independent encoder.
const MetricFamily = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Bucket: { fields: { cumulativeCount: { type: 'uint64', id: 1 }, upperBound: { type: 'double', id: 2 } } },
    Histogram: { fields: { sampleCount: { type: 'uint64', id: 1 }, sampleSum: { type: 'double', id: 2 }, bucket: { rule: 'repeated', type: 'Bucket', id: 3 } } },
    Metric: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, histogram: { type: 'Histogram', id: 7 } } },
    MetricFamily: { fields: { name: { type: 'string', id: 1 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
  },
}).lookupType('MetricFamily');

it('a protobuf push (no +Inf bucket on the wire) gives the series its text push gives: +Inf from the count where there are buckets', () => {
  const proto = Buffer.from(
    MetricFamily.encodeDelimited(
      MetricFamily.fromObject({
        name: 'lat',
        type: 4,
        metric: [
          { label: [{ name: 'a', value: 'x' }], histogram: { sampleCount: 4, sampleSum: 7, bucket: [{ cumulativeCount: 2, upperBound: 1 }, { cumulativeCount: 3, upperBound: 5 }] } },
          { label: [{ name: 'a', value: 'y' }], histogram: { sampleCount: 2, sampleSum: 1 } },
        ],
      }),
    ).finish(),
  );
  const text = '# TYPE lat histogram\nlat_bucket{a="x",le="1"} 2\nlat_bucket{a="x",le="5"} 3\nlat_sum{a="x"} 7\nlat_count{a="x"} 4\nlat_sum{a="y"} 1\nlat_count{a="y"} 2\n';
  const seriesOf = (body: string | Buffer, contentType: string) =>
    decode(body, GROUPING, {}, contentType)
      .points.map((p) => `${JSON.stringify(Object.entries(p.labels).sort())} ${p.value}`)
      .sort();
  const fromText = seriesOf(text, TEXT);
  expect(fromText).toContain(`${JSON.stringify(Object.entries({ __name__: 'lat_bucket', a: 'x', instance: 'h1', job: 'job1', le: '+Inf' }))} 4`);
  expect(fromText.filter((s) => s.includes('"lat_bucket"'))).toHaveLength(3);
  expect(seriesOf(proto, PROTOBUF)).toEqual(fromText);
});
