// A job run again and again (each run a new producer of the same series) keeps a counter baseline per run and series
// in a window of arrays by input id (aggregate/input-numbers.ts): a run's inputs met in the order they were made, from
// the last to the first, shuffled, a few at a time, or series new to a later run (ids far from the rest, kept beside
// the window); runs that expire while others push; checkpoints restored between pushes; Remote Write retries of an
// older request. Whatever the order, every total is the sum over runs of each run's last cumulative value.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { batch, byId, counter, options, rng } from '../aggregate/fixtures.js';
import type { InputPoint } from '../../src/model.js';

const SERIES = 300;
const MINUTE = 60_000;

describe('reruns of a job count exactly whatever order their series come in', () => {
  it.each([1, 2, 3, 4, 5, 6])('seed %i', (seed) => {
    const rand = rng(seed);
    const opts = options({ seriesTtlMs: 5 * MINUTE, counterTtlMs: 26 * 60 * MINUTE, producerTtlMs: 60 * MINUTE, limits: { maxSeries: 100_000, maxLabelsPerSeries: 30, maxLabelValueLength: 200 } });
    let agg = new PartitionAggregate(opts);
    const expected = new Map<string, number>();
    const id = (s: number) => `rows_total{job="job1",shard="s${s}"}`;
    let now = Date.now();
    for (let run = 0; run < 14; run++) {
      // A run's series: all of them, a contiguous part, or a scattered few (some first seen in this run).
      const kind = rand();
      let series = Array.from({ length: SERIES }, (_, s) => s);
      if (kind < 0.3) series = series.slice(Math.floor(rand() * 100), 150 + Math.floor(rand() * 150));
      else if (kind < 0.5) series = series.filter(() => rand() < 0.2);
      if (run % 4 === 3) series.push(...Array.from({ length: 20 }, (_, i) => SERIES + run * 20 + i));
      const last = new Map<number, number>();
      const remote = rand() < 0.4;
      let sent: InputPoint[] | null = null;
      for (let push = 0; push < 1 + Math.floor(rand() * 3); push++) {
        const order = series.slice();
        const how = rand();
        if (how < 0.3) order.reverse();
        else if (how < 0.6) order.sort(() => rand() - 0.5);
        // Each push sends a part of the run's series (at least one), cumulative values that only grow.
        const part = order.filter(() => rand() < 0.8);
        if (part.length === 0) part.push(order[0]!);
        const points = part.map((s) => {
          const v = (last.get(s) ?? 0) + 1 + Math.floor(rand() * 100) + (rand() < 0.3 ? 0.25 : 0);
          last.set(s, v);
          const p = counter('rows_total', v, { shard: `s${s}` });
          return remote ? { ...p, timestamp: now } : p;
        });
        const retried = sent;
        agg.apply(batch({ producer: `run-${run}`, grouping: { instance: `pod-${run}` }, points }), now);
        sent = points;
        now += 1_000;
        // A Remote Write sender retrying its previous request after this one: refused as older, counts nothing.
        if (remote && retried !== null && rand() < 0.5) agg.apply(batch({ producer: `run-${run}`, grouping: { instance: `pod-${run}` }, points: retried }), now);
      }
      for (const [s, v] of last) expected.set(id(s), (expected.get(id(s)) ?? 0) + v);
      now += 5 * MINUTE;
      expect(byId(agg.collect(now))).toEqual(Object.fromEntries(expected));
      // Now and then the aggregate restarts from its checkpoint.
      if (rand() < 0.4) agg = PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())) as unknown, opts);
    }
    // The runs of the last hour are live (one baseline per series each); the older ones expired, their totals kept.
    expect(agg.producerCount).toBeLessThanOrEqual(12);
    expect(byId(agg.collect(now))).toEqual(Object.fromEntries(expected));
  });
});
