import { describe, expect, it } from 'vitest';
import { formatExposition, formatValue, parseExposition } from '../../src/index.js';
import type { MetricFamily } from '../../src/index.js';

describe('formatExposition', () => {
  it('writes HELP, TYPE and escaped samples', () => {
    const families: MetricFamily[] = [
      {
        name: 'jobs_total',
        type: 'counter',
        help: 'Jobs run.\nBackslash \\ here.',
        samples: [{ name: 'jobs_total', labels: { q: 'a"b\\c\nd' }, value: 3, timestamp: 1700000000000 }],
      },
      { name: 'temp', type: 'gauge', samples: [{ name: 'temp', labels: {}, value: -Infinity }] },
    ];
    expect(formatExposition(families)).toBe(
      '# HELP jobs_total Jobs run.\\nBackslash \\\\ here.\n' +
        '# TYPE jobs_total counter\n' +
        'jobs_total{q="a\\"b\\\\c\\nd"} 3 1700000000000\n' +
        '# TYPE temp gauge\n' +
        'temp -Inf\n',
    );
  });

  it('round-trips through parseExposition, special values included', () => {
    const families: MetricFamily[] = [
      {
        name: 'lat',
        type: 'histogram',
        help: 'h',
        samples: [
          { name: 'lat_bucket', labels: { le: '0.5' }, value: 1 },
          { name: 'lat_bucket', labels: { le: '+Inf' }, value: 2 },
          { name: 'lat_sum', labels: {}, value: 0.75 },
          { name: 'lat_count', labels: {}, value: 2 },
        ],
      },
      {
        name: 'odd',
        type: 'untyped',
        samples: [
          { name: 'odd', labels: { u: 'ü✓' }, value: NaN },
          { name: 'odd', labels: { u: 'b' }, value: Infinity, timestamp: -1 },
          { name: 'odd', labels: { u: 'c' }, value: 1e-300 },
        ],
      },
    ];
    expect(parseExposition(formatExposition(families))).toEqual(families);
  });

  it('formatValue writes Go-compatible specials', () => {
    expect([formatValue(NaN), formatValue(Infinity), formatValue(-Infinity), formatValue(1.5), formatValue(1e21)]).toEqual([
      'NaN', '+Inf', '-Inf', '1.5', '1e+21',
    ]);
  });
});
