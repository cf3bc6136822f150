import { CodecError, parseExposition } from '@prom-relay/codec';
import type { ExpositionLimits, Labels, MetricMetadata } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeExpositionText } from '../../src/decode/index.js';
import type { InputPoint } from '../../src/model.js';
import { rng } from '../aggregate/fixtures.js';
import { viaCodec } from './codec-reference.js';

const GROUPING = { instance: 'h1' };

/** The HELP of the codec's families that have samples, as decode promises to hand it on. */
function helpViaCodec(text: string): MetricMetadata[] {
  return parseExposition(text)
    .filter((f) => f.help !== undefined && f.help !== '' && f.samples.length > 0)
    .map((f) => ({ metricFamilyName: f.name, type: f.type === 'untyped' ? 'unknown' : f.type, help: f.help! }));
}

function canonical(points: InputPoint[]): string[] {
  return points
    .map((p) => {
      const labels = Object.fromEntries(Object.entries(p.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
      return JSON.stringify([p.family, p.type, labels, Object.is(p.value, -0) ? '-0' : String(p.value)]);
    })
    .sort();
}

/** Points, or where it failed; a limit error also with its exact message (both parsers word them alike). */
function outcome(fn: () => InputPoint[]): { ok: string[] } | { line: number } | { limit: string } {
  try {
    return { ok: canonical(fn()) };
  } catch (error) {
    if (error instanceof CodecError || error instanceof DecodeError) {
      if (error.code === 'PROM_RELAY_CODEC_LIMIT' || error.code === 'PROM_RELAY_DECODE_LIMIT') return { limit: error.message };
      return { line: error.line! };
    }
    throw error;
  }
}

describe('decodeExpositionText', () => {
  it('decodes what prom-client writes: typed families, histograms, summaries, header labels override', () => {
    const text = [
      '# HELP rows_total Rows written.',
      '# TYPE rows_total counter',
      'rows_total{table="users",job="body-job"} 120',
      'rows_total{table="orders"} 7 1700000000000',
      '# TYPE lat histogram',
      'lat_bucket{le="0.1"} 3',
      'lat_bucket{le="+Inf"} 6',
      'lat_sum 2.7',
      'lat_count 6',
      '# TYPE rpc summary',
      'rpc{quantile="0.5"} 0.2',
      'rpc_sum 12.5',
      'rpc_count 40',
      'temp NaN',
      'up{instance="body"} +Inf',
      '',
    ].join('\n');
    const points = decodeExpositionText(text, 'job1', GROUPING);
    expect(points.map((p) => [p.family, p.type, p.labels, p.value, p.key])).toEqual([
      ['rows_total', 'counter', { __name__: 'rows_total', table: 'users', job: 'job1', instance: 'h1' }, 120, 'rows_total{table="users",job="body-job"}'],
      ['rows_total', 'counter', { __name__: 'rows_total', table: 'orders', job: 'job1', instance: 'h1' }, 7, 'rows_total{table="orders"}'],
      ['lat', 'histogram', { __name__: 'lat_bucket', le: '0.1', job: 'job1', instance: 'h1' }, 3, 'lat_bucket{le="0.1"}'],
      ['lat', 'histogram', { __name__: 'lat_bucket', le: '+Inf', job: 'job1', instance: 'h1' }, 6, 'lat_bucket{le="+Inf"}'],
      ['lat', 'histogram', { __name__: 'lat_sum', job: 'job1', instance: 'h1' }, 2.7, 'lat_sum'],
      ['lat', 'histogram', { __name__: 'lat_count', job: 'job1', instance: 'h1' }, 6, 'lat_count'],
      ['rpc', 'summary', { __name__: 'rpc', quantile: '0.5', job: 'job1', instance: 'h1' }, 0.2, 'rpc{quantile="0.5"}'],
      ['rpc', 'summary', { __name__: 'rpc_sum', job: 'job1', instance: 'h1' }, 12.5, 'rpc_sum'],
      ['rpc', 'summary', { __name__: 'rpc_count', job: 'job1', instance: 'h1' }, 40, 'rpc_count'],
      ['temp', 'untyped', { __name__: 'temp', job: 'job1', instance: 'h1' }, NaN, 'temp'],
      ['up', 'untyped', { __name__: 'up', instance: 'h1', job: 'job1' }, Infinity, 'up{instance="body"}'],
    ]);
  });

  it('resolves escapes, CRLF line ends, blanks and drops empty label values', () => {
    const points = decodeExpositionText('a { x = "q\\"\\n\\\\" , y="" } \t 1.5e3 \r\n', 'j', {});
    expect(points).toHaveLength(1);
    expect(points[0]!.labels).toEqual({ __name__: 'a', x: 'q"\n\\', job: 'j' });
    expect(points[0]!.value).toBe(1500);
  });

  it.each([
    ['rows_total{a="1"', 1, /not closed/],
    ['ok 1\nrows_total{a=1} 2', 2, /expected '"'/],
    ['a 1\nb\n', 2, /missing value/],
    ['a 1x', 1, /invalid value "1x"/],
    ['a{a="1",a="2"} 1', 1, /duplicate label a/],
    ['a{__name__="x"} 1', 1, /__name__ is not allowed/],
    ['# TYPE a counter\n# TYPE a gauge', 2, /second TYPE/],
    ['a 1\n# TYPE a counter', 2, /after its samples/],
    ['# TYPE h histogram\nh_bucket 1', 2, /no "le" label/],
    ['# TYPE s summary\ns 1', 2, /no "quantile" label/],
    ['a 1 12.5', 1, /invalid timestamp/],
    // an OpenMetrics exemplar (text exposition 0.0.4 has none; docs/message-format.md)
    ['a_total 1 # {trace_id="t"} 1', 1, /invalid timestamp "#"/],
    ['a_total 1 1690000000000 # {trace_id="t"} 1', 1, /unexpected text after the timestamp/],
    ['a{b="\\x"} 1', 1, /invalid escape/],
    ['# TYPE a countr', 1, /unknown metric type/],
    ['1a 1', 1, /where a metric name starts/],
  ])('rejects %j at line %i with a TEXT error', (text, line, message) => {
    let error: unknown;
    try {
      decodeExpositionText(text, 'j', {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect(error).toMatchObject({ code: 'PROM_RELAY_DECODE_TEXT', line });
    expect((error as DecodeError).message).toMatch(message);
    expect((error as DecodeError).message).toMatch(new RegExp(`^line ${line}, column \\d+: `));
  });

  it('gives the codec parser results (or fails on the same line) on many generated and mutated inputs', () => {
    const rand = rng(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const names = ['a', 'b_total', 'h', 'h_bucket', 'h_sum', 'h_count', 's', 's_sum', 's_count', 'x:y'];
    const values = ['1', '0', '-2.5', '1e3', '.5', '5.', 'NaN', '+Inf', '-inf', 'Inf', '0x1', '1_0', '--1', '.', '+.5e-2', '1e400', '-0', '+5', 'nan', 'Infinity', '007', '1.2.3', '1e', 'e1', '123456789012345', '1234567890123456', '000000000000042', '9007199254740993'];
    const labelValues = ['v', '', 'a\\"b', 'line\\nbreak', 'back\\\\slash', 'ünï', 'bad\\t'];
    const line = () => {
      const r = rand();
      if (r < 0.15) return `# TYPE ${pick(['a', 'h', 's', 'b_total'])} ${pick(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'nope'])}`;
      if (r < 0.2) return `# HELP ${pick(names)} some help \\n text`;
      if (r < 0.25) return pick(['', '# just a comment', '  ', '#', '#TYPE a counter', '# TYPE a counter ', '# TYPE\ta\tgauge', '# HELP', '# TYPE a', 'a{} 1', 'a{,} 1', '\ta\t1\t', 'a{b="c",} 1 -0']);
      const labels = Array.from({ length: Math.floor(rand() * 4) }, () => `${pick(['le', 'quantile', 'k', 'job', 'instance', 'k'])}${pick(['=', ' = '])}"${pick(labelValues)}"`);
      const labelText = labels.length || rand() < 0.2 ? `{${labels.join(pick([',', ', ']))}${rand() < 0.1 ? ',' : ''}}` : '';
      return `${pick(['', ' '])}${pick(names)}${labelText} ${pick(values)}${rand() < 0.1 ? ` ${pick(['123', '-5', '1.5', '99999999999999999999'])}` : ''}`;
    };
    let valid = 0;
    for (let i = 0; i < 4000; i++) {
      let text = Array.from({ length: 1 + Math.floor(rand() * 8) }, line).join(pick(['\n', '\r\n']));
      if (rand() < 0.3) {
        const at = Math.floor(rand() * (text.length + 1));
        text = rand() < 0.5 ? text.slice(0, at) + pick(['"', '{', '}', ',', '=', ' ', '\\', '#', '\n', 'é']) + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
      }
      const help: MetricMetadata[] = [];
      const mine = outcome(() => decodeExpositionText(text, 'job1', GROUPING, {}, help));
      const codec = outcome(() => viaCodec(text, 'job1', GROUPING));
      expect(mine, text).toEqual(codec);
      if ('ok' in mine) expect(help, text).toEqual(helpViaCodec(text));
      if ('ok' in mine && mine.ok.length > 0) valid++;
    }
    expect(valid).toBeGreaterThan(300); // the comparison covered real samples, not only errors
  });

  it('agrees with the codec parser under limits, on long label sets (Set-based duplicate check) and long values', () => {
    const rand = rng(11);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const valuePool = ['', 'v', 'abcd', 'a\\"b\\n', '\\\\\\\\', 'ünïcödé', 'x'.repeat(9), 'v', 'ab'];
    const line = () => {
      const n = Math.floor(rand() * 14);
      const names = Array.from({ length: n }, (_, i) => (rand() < 0.01 ? `l${Math.floor(rand() * n)}` : `l${i}`));
      const labels = names.map((name) => `${name}="${pick(valuePool)}"`);
      return `m${Math.floor(rand() * 3)}{${labels.join(',')}} ${rand() < 0.03 ? 'x' : pick(['1', '2.5', '3'])}`;
    };
    const seen = { ok: 0, limit: 0, line: 0 };
    for (let i = 0; i < 3000; i++) {
      let text = Array.from({ length: 1 + Math.floor(rand() * 4) }, line).join('\n');
      if (rand() < 0.2) {
        const at = Math.floor(rand() * (text.length + 1));
        text = text.slice(0, at) + pick(['"', '}', ',', '\\', '\n', '\\q']) + text.slice(at);
      }
      const limits: ExpositionLimits = {};
      if (rand() < 0.6) limits.maxLabelsPerSeries = 1 + Math.floor(rand() * 16);
      if (rand() < 0.6) limits.maxLabelValueLength = 1 + Math.floor(rand() * 12);
      const mine = outcome(() => decodeExpositionText(text, 'job1', GROUPING, limits));
      const codec = outcome(() => viaCodec(text, 'job1', GROUPING, limits));
      expect(mine, `${JSON.stringify(limits)}\n${text}`).toEqual(codec);
      seen['ok' in mine ? 'ok' : 'limit' in mine ? 'limit' : 'line']++;
    }
    // Every kind of outcome was compared many times.
    expect(Math.min(seen.ok, seen.limit, seen.line)).toBeGreaterThan(300);
  });

  it('names the limit, line and column: labels counted with the metric name, value length after unescaping', () => {
    const fail = (text: string, limits: ExpositionLimits) => {
      try {
        decodeExpositionText(text, 'j', {}, limits);
      } catch (error) {
        return error as DecodeError;
      }
      throw new Error('no error');
    };
    expect(fail('ok 1\nm{a="1",b="2",c="3"} 1', { maxLabelsPerSeries: 3 })).toMatchObject({
      code: 'PROM_RELAY_DECODE_LIMIT',
      line: 2,
      column: 15,
      message: 'line 2, column 15: series m has more than 3 labels, its name counted (limit maxLabelsPerSeries)',
    });
    expect(decodeExpositionText('m{a="1",b="2"} 1', 'j', {}, { maxLabelsPerSeries: 3 })).toHaveLength(1);
    expect(fail('m{a="1",b="abc\\"d"} 1', { maxLabelValueLength: 4 })).toMatchObject({
      code: 'PROM_RELAY_DECODE_LIMIT',
      line: 1,
      column: 12,
      message: 'line 1, column 12: value of label b is longer than 4 characters (limit maxLabelValueLength)',
    });
    // An escape is one character: `abc\"` is 4 long.
    expect(decodeExpositionText('m{b="abc\\""} 1', 'j', {}, { maxLabelValueLength: 4 })[0]!.labels['b']).toBe('abc"');
    // Without limits, 20,000 labels parse (and a duplicate among them is still found).
    const many = Array.from({ length: 20_000 }, (_, i) => `l${i}="v"`);
    expect(Object.keys(decodeExpositionText(`m{${many.join(',')}} 1`, 'j', {})[0]!.labels)).toHaveLength(20_002);
    expect(fail(`m{${many.join(',')},l7="x"} 1`, {})).toMatchObject({ code: 'PROM_RELAY_DECODE_TEXT', message: expect.stringMatching(/duplicate label l7$/) });
    expect(() => decodeExpositionText('m 1', 'j', {}, { maxLabelsPerSeries: 0 })).toThrow(/positive integer/);
  });

  it('hands on the HELP of each family (unescaped) with its type, once per family, only for families with samples', () => {
    const text = [
      '# HELP rows_total Rows written, by table.',
      '# TYPE rows_total counter',
      'rows_total{table="a"} 1',
      'rows_total{table="b"} 2',
      '# TYPE latency_seconds histogram',
      '# HELP latency_seconds Time per \\\\batch\\n (seconds); \\t kept',
      'latency_seconds_bucket{le="+Inf"} 3',
      'latency_seconds_sum 0.75',
      'latency_seconds_count 3',
      '# HELP temp_celsius   leading blanks after the first are kept\r',
      'temp_celsius 21',
      '# HELP no_samples described but never sent',
      '# HELP empty_help ',
      'empty_help 1',
      'plain 4',
      '# HELP odd_escapes a\\\\nb \\x tail\\',
      'odd_escapes 1',
    ].join('\n');
    const help: MetricMetadata[] = [];
    const points = decodeExpositionText(text, 'j', {}, {}, help);
    expect(points).toHaveLength(9);
    expect(help).toEqual([
      { metricFamilyName: 'rows_total', type: 'counter', help: 'Rows written, by table.' },
      { metricFamilyName: 'latency_seconds', type: 'histogram', help: 'Time per \\batch\n (seconds); \\t kept' },
      { metricFamilyName: 'temp_celsius', type: 'unknown', help: '  leading blanks after the first are kept' },
      // `\\` then `n` is a backslash and an n; `\x` and a last lone backslash stay as written.
      { metricFamilyName: 'odd_escapes', type: 'unknown', help: 'a\\nb \\x tail\\' },
    ]);
    expect(help.at(-1)!.help).toBe(helpViaCodec(text).at(-1)!.help);
    // Without somewhere to put it, nothing is collected and the points are the same.
    expect(canonical(decodeExpositionText(text, 'j', {}))).toEqual(canonical(points));
  });

  it('gives equal keys only to equal label sets', () => {
    const points = decodeExpositionText('a{x="1"} 1\na{x="1"} 2\na{x="2"} 3\na 4', 'j', GROUPING);
    const byKey = new Map<string, string>();
    for (const p of points) {
      const labels = JSON.stringify(p.labels);
      expect(byKey.get(p.key!) ?? labels).toBe(labels);
      byKey.set(p.key!, labels);
    }
    expect(byKey.size).toBe(3);
  });
});
