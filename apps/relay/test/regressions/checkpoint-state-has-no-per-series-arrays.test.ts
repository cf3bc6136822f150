// A source partition's checkpoint is `toState()`, taken in the flush every 30 s while records arrive: it must cost a
// few arrays per table, not one per series, producer or contribution (version 2 took 74 MB of arrays and 56 ms of
// JSON.stringify per 100k counter series, version 1 more). Guards the number of arrays in the state (the same for 10
// times the series; version 2: 462 and 4,422) and its JSON size per series.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { batch, counter, gauge, options } from '../aggregate/fixtures.js';

/** `producers` producers, each pushing 8 counters and 2 gauges (their `last` outputs keep contributions). */
function aggregate(producers: number): PartitionAggregate {
  const agg = new PartitionAggregate(options({ limits: { maxSeries: 1_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 200 } }));
  for (let p = 0; p < producers; p++) {
    const points = [
      ...Array.from({ length: 8 }, (_, i) => counter('bytes_processed_total', p * 10 + i, { shard: `shard-${p}`, partition_key: `key-${i}`, status: 'ok' })),
      gauge('queue_depth', p, { shard: `shard-${p}` }),
      gauge('temperature_celsius', 20 + (p % 7), { shard: `shard-${p}` }),
    ];
    agg.apply(batch({ producer: `producer-${p}`, job: `job-${p % 5}`, grouping: { instance: `worker-${p}` }, points }), 1_764_000_000_000 + p);
  }
  return agg;
}

function arrays(x: unknown): number {
  if (Array.isArray(x)) return 1 + x.reduce((n: number, v) => n + arrays(v), 0);
  if (x !== null && typeof x === 'object') return Object.values(x).reduce((n: number, v) => n + arrays(v), 0);
  return 0;
}

describe('checkpoint state of an aggregate', () => {
  it('has as many arrays for 10 times the series (columns, not rows)', () => {
    const small = JSON.parse(JSON.stringify(aggregate(40).toState())) as unknown;
    const large = JSON.parse(JSON.stringify(aggregate(400).toState())) as unknown;
    expect(aggregate(400).seriesCount).toBe(4000);
    expect(arrays(large)).toBe(arrays(small));
    expect(arrays(large)).toBeLessThan(80);
  });

  it('takes under 40 bytes of JSON per counter series besides the input keys, fed 100 per producer (version 2: 138)', () => {
    const agg = new PartitionAggregate(options({ limits: { maxSeries: 1_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 200 } }));
    for (let p = 0; p < 50; p++) {
      const points = Array.from({ length: 100 }, (_, s) => counter('bytes_processed_total', p + s, { shard: `shard-${p}`, partition_key: `key-${s}`, status: 'ok' }));
      agg.apply(batch({ producer: `producer-${p}`, job: `ingest-job-${p % 50}`, grouping: { instance: `worker-${p}.batch.svc` }, points }), Date.now());
    }
    expect(agg.seriesCount).toBe(5000);
    const state = agg.toState();
    // the input keys (the series as pushed, one string each) are what they are; the rest is the format's
    const keys = Buffer.byteLength(JSON.stringify(state.inputs.key));
    expect((Buffer.byteLength(JSON.stringify(state)) - keys) / 5000).toBeLessThan(40);
  });
});
