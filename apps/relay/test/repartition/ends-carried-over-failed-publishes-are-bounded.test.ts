// While the partials topic fails, a source carries the whole-job delete ends of every failed publish to the next one
// (publishAll), and each of its checkpoints keeps them. They piled up without bound, and each checkpoint wrote every one
// with its labels beside its key. A checkpoint now keeps an end's key only (its labels come back from it), and what is
// carried is bounded: an end over the bound is dropped, counted (prom_relay_partials_ends_dropped_total) and logged,
// never silently; /readyz already fails then (the last flush's publish failed).
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { OutputSample } from '../../src/model.js';
import { RepartitionMetrics, SourceState } from '../../src/repartition/index.js';
import { batch, counter } from '../aggregate/fixtures.js';
import { OPTS, T0, viaJson } from '../lib/partials-pipeline.js';

const ends = (samples: OutputSample[]) => samples.filter((s) => s.stale === true).map((s) => `${s.labels['job']}:${s.final?.value}`);

describe('ends carried over failed publishes', () => {
  it('are kept in a checkpoint by key alone, and a restored source says them with their labels', () => {
    const state = SourceState.create(OPTS, 3_600_000);
    state.apply(batch({ producer: 'run1', job: 'etl', points: [counter('rows_total', 10)] }), T0);
    state.collect(T0 + 10_000);
    state.apply(batch({ producer: 'pushgateway/job=etl', job: 'etl', op: 'delete' }), T0 + 15_000);
    state.collect(T0 + 20_000);
    const cp = viaJson(state.toState()) as { ends: unknown[][] };
    expect(cp.ends).toHaveLength(1);
    expect(cp.ends[0]![0]).toBe('__name__="rows_total",job="etl",');
    expect(cp.ends[0]!.some((x) => x !== null && typeof x === 'object' && !Array.isArray(x))).toBe(false); // no labels object
    const said = SourceState.fromState(cp, OPTS, 3_600_000).collect(T0 + 30_000).filter((s) => s.stale === true);
    expect(said.map((s) => [s.labels, s.key, s.final?.value])).toEqual([[{ __name__: 'rows_total', job: 'etl' }, '__name__="rows_total",job="etl",', 10]]);
  });

  it('kept with their labels too (checkpoints written before) are still read', () => {
    const state = SourceState.create(OPTS, 3_600_000);
    const cp = viaJson(state.toState()) as Record<string, unknown>;
    cp['ends'] = [[{ __name__: 'rows_total', job: 'etl' }, '__name__="rows_total",job="etl",', 'total', 10, 1]];
    const said = SourceState.fromState(cp, OPTS, 3_600_000).collect(T0).filter((s) => s.stale === true);
    expect(said.map((s) => [s.labels, s.final])).toEqual([[{ __name__: 'rows_total', job: 'etl' }, { value: 10, offset: 1 }]]);
  });

  it('are bounded: one over the bound is dropped and counted, the ones within go on', () => {
    const dropped: number[] = [];
    const state = SourceState.create(OPTS, 3_600_000, { max: 2, onDropped: (n) => dropped.push(n) });
    // Three jobs, each run and deleted, every publish failing.
    let said: OutputSample[] = [];
    for (const [i, job] of ['a', 'b', 'c'].entries()) {
      state.apply(batch({ producer: `run-${job}`, job, points: [counter('rows_total', i + 1)] }), T0 + i * 20_000);
      state.collect(T0 + i * 20_000 + 5_000);
      state.publishAll();
      state.apply(batch({ producer: `pushgateway/job=${job}`, job, op: 'delete' }), T0 + i * 20_000 + 6_000);
      said = state.collect(T0 + i * 20_000 + 10_000);
      state.publishAll();
    }
    expect(dropped).toEqual([1]);
    expect(ends(state.collect(T0 + 100_000))).toEqual(['a:1', 'b:2']);
    // The checkpoint keeps no more than the bound either.
    state.publishAll();
    expect((viaJson(state.toState()) as { ends: unknown[] }).ends).toHaveLength(2);
    expect(ends(said)).toEqual(['a:1', 'b:2', 'c:3']);
  });
});

describe('ends dropped over the bound', () => {
  it('are counted on /metrics and logged, once a minute', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const registry = new Registry();
    const metrics = new RepartitionMetrics(registry, () => []);
    const state = SourceState.create(OPTS, 3_600_000, metrics.carriedEnds(logger, 1));
    for (const [i, job] of ['a', 'b', 'c'].entries()) {
      state.apply(batch({ producer: `run-${job}`, job, points: [counter('rows_total', 1)] }), T0 + i * 20_000);
      state.collect(T0 + i * 20_000 + 5_000);
      state.publishAll();
      state.apply(batch({ producer: `pushgateway/job=${job}`, job, op: 'delete' }), T0 + i * 20_000 + 6_000);
      state.collect(T0 + i * 20_000 + 10_000);
      state.publishAll();
    }
    expect(await registry.getSingleMetricAsString('prom_relay_partials_ends_dropped_total')).toMatch(/^prom_relay_partials_ends_dropped_total 2$/m);
    const dropped = lines.filter((l) => l['code'] === 'PROM_RELAY_PARTIALS_ENDS_DROPPED');
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ dropped: 1, max: 1, level: 50 });
  });
});
