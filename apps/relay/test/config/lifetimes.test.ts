// Lifetimes as configured: totals 26 h by default, gauges 5 m, and the owners' TTL covering the longer of them.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { aggregateOptions } from '../../src/pipeline.js';
import { combinerTtl } from '../../src/repartition/setup.js';

const HOUR = 3_600_000;

describe('lifetimes', () => {
  it('defaults: totals kept 26 h, gauges 5 m, producers 1 h; the aggregate gets them', () => {
    const c = loadConfig({ text: '', env: {} });
    expect(c.aggregation.counter_ttl).toBe(26 * HOUR);
    expect(aggregateOptions(c)).toMatchObject({ seriesTtlMs: 300_000, counterTtlMs: 26 * HOUR, producerTtlMs: HOUR });
  });

  it('owners keep a partial at least counter_ttl (and series_ttl) + 3 flushes, whatever partial_ttl says', () => {
    expect(combinerTtl(loadConfig({ text: '', env: {} }))).toBe(27 * HOUR);
    const short = loadConfig({ text: 'repartition: { partial_ttl: 1m }\naggregation: { counter_ttl: 48h }\nflush: { interval: 10s }', env: {} });
    expect(combinerTtl(short)).toBe(48 * HOUR + 30_000);
    const gauges = loadConfig({ text: 'repartition: { partial_ttl: 1m }\naggregation: { counter_ttl: 1m, series_ttl: 10m }', env: {} });
    expect(combinerTtl(gauges)).toBe(600_000 + 30_000);
  });

  it('env overrides counter_ttl like any key', () => {
    const c = loadConfig({ text: '', env: { PROM_RELAY_AGGREGATION__COUNTER_TTL: '2h' } });
    expect(c.aggregation.counter_ttl).toBe(2 * HOUR);
  });
});
