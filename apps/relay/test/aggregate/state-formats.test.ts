// The aggregate's checkpoint form: version 5 (columns, runs, one epoch, producer scopes per group, input keys as a
// shared start and the rest) restores to exactly the same future as the aggregate it came from, and states written by
// the releases before it (version 2: fixtures/aggregate-state-v2.json, by writeState as of c6afa5c; version 3:
// fixtures/aggregate-state-v3.json, as of 16eb1a6; version 4: fixtures/aggregate-state-v4.json, as of 812ba79) still
// restore to the future those releases computed, so an upgrade in the middle of a run changes no total.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AggregateError, PartitionAggregate } from '../../src/aggregate/index.js';
import { decodeRecord } from '../../src/decode/index.js';
import { batch, counter, options } from './fixtures.js';
import { SCENARIO_OPTIONS, cutAggregate, futureOf } from './state-scenario.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/aggregate-state-v2.json', import.meta.url), 'utf8')) as {
  state: { version: number; outputs: { lastFed: number[] } };
  future: unknown;
};
const fixtureV3 = JSON.parse(readFileSync(new URL('./fixtures/aggregate-state-v3.json', import.meta.url), 'utf8')) as {
  state: { version: number; pscopes: { key: string[] } };
  future: unknown[];
};
const fixtureV4 = JSON.parse(readFileSync(new URL('./fixtures/aggregate-state-v4.json', import.meta.url), 'utf8')) as {
  state: { version: number; inputs: { key: string[]; head?: unknown } };
  future: unknown[];
};
const viaJson = <T>(x: T) => JSON.parse(JSON.stringify(x)) as T;
/**
 * The fixture's future as this release says it: apply results now tell the points left out with a refused sibling of
 * their histogram or summary (`siblings`), which that release counted in `rejected` only (beside invalid, type
 * conflicts and limit hits).
 */
type Said = { rejected: number; invalid: number; typeConflicts: number; limitHits: Record<string, number>; siblings?: number };
const withSiblings = (future: unknown[]) => future.map((x) => {
  if (typeof x !== 'object' || x === null || !('limitHits' in x)) return x;
  const r = x as Said;
  const limited = Object.values(r.limitHits).reduce((a, b) => a + b, 0);
  return { ...r, siblings: r.rejected - r.invalid - r.typeConflicts - limited };
});
const fixtureFuture = withSiblings(fixture.future as unknown[]);

describe('aggregate state', () => {
  afterEach(() => vi.useRealTimers());

  it('writes version 5 and restores it to the same future (every output mode, native histograms, quantiles per producer, non-finite values)', () => {
    const state = viaJson(cutAggregate().toState());
    expect(state.version).toBe(5);
    expect(state.gauges.output.length).toBeGreaterThan(0);
    expect(state.natives.length).toBeGreaterThan(0);
    expect(state.targetList.length).toBeGreaterThan(0);
    expect(JSON.stringify(state)).toMatch(/"NaN"|"[+-]Inf"/);
    // Restored by a process started an hour later: its times count from another epoch.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 3_600_000);
    const restored = PartitionAggregate.fromState(state, SCENARIO_OPTIONS);
    expect(futureOf(restored)).toEqual(futureOf(cutAggregate()));
    // the pushes replaced gauges (a series of `g` the next push no longer carried ended at once) before and after the cut
    expect(futureOf(cutAggregate())).not.toEqual(futureOf(cutAggregate(false), false));
  });

  it('restores a version 2 state written by the previous release to the future that release computed', () => {
    expect(fixture.state.version).toBe(2);
    // (pushes that replace no gauge, as that release's did not: see scenarioSteps)
    expect(futureOf(PartitionAggregate.fromState(fixture.state, SCENARIO_OPTIONS), false)).toEqual(fixtureFuture);
    // and the scenario itself still computes that future (the fixture is not stale)
    expect(futureOf(cutAggregate(false), false)).toEqual(fixtureFuture);
  });

  it('a restored version 2 state writes version 5 with the same future', () => {
    const state = viaJson(PartitionAggregate.fromState(fixture.state, SCENARIO_OPTIONS).toState());
    expect(state.version).toBe(5);
    expect(futureOf(PartitionAggregate.fromState(state, SCENARIO_OPTIONS), false)).toEqual(fixtureFuture);
  });

  it('restores a version 3 state (producer scopes by producer labels alone) written by the release before version 4 to the future that release computed', () => {
    expect(fixtureV3.state.version).toBe(3);
    expect(fixtureV3.state.pscopes.key.every((k) => !k.includes('\u0001'))).toBe(true);
    const expected = withSiblings(fixtureV3.future);
    // (that release replaced no gauge on a push: the pushes here replace none either, see scenarioSteps)
    expect(futureOf(PartitionAggregate.fromState(viaJson(fixtureV3.state), SCENARIO_OPTIONS), false)).toEqual(expected);
    const again = viaJson(PartitionAggregate.fromState(viaJson(fixtureV3.state), SCENARIO_OPTIONS).toState());
    expect(again.version).toBe(5);
    expect(again.pscopes.key.every((k: string) => k.includes('\u0001'))).toBe(true);
    expect(futureOf(PartitionAggregate.fromState(again, SCENARIO_OPTIONS), false)).toEqual(expected);
  });

  it('restores a version 4 state (input keys whole) written by the release before version 5 to the future that release computed', () => {
    expect(fixtureV4.state.version).toBe(4);
    expect(fixtureV4.state.inputs.head).toBeUndefined();
    expect(futureOf(PartitionAggregate.fromState(viaJson(fixtureV4.state), SCENARIO_OPTIONS))).toEqual(fixtureV4.future);
    // (and the scenario itself still computes that future: the fixture is not stale)
    expect(futureOf(cutAggregate())).toEqual(fixtureV4.future);
    const again = viaJson(PartitionAggregate.fromState(viaJson(fixtureV4.state), SCENARIO_OPTIONS).toState());
    expect(again.version).toBe(5);
    expect(futureOf(PartitionAggregate.fromState(again, SCENARIO_OPTIONS))).toEqual(fixtureV4.future);
  });

  it('writes input keys as the aggregate keeps them: the start a push\'s series share once, the rest per input; restored, each series is found by its key', () => {
    const agg = new PartitionAggregate(options());
    const body = (v: number) => Array.from({ length: 200 }, (_, s) => `bytes_processed_total{shard="shard-7",partition_key="key-${s}",status="ok"} ${v + s}`).join('\n');
    const text = (v: number) =>
      decodeRecord({
        topic: 't',
        partition: 0,
        offset: String(v),
        key: null,
        value: Buffer.from(body(v)),
        headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': 'j', 'prom-relay-producer': 'p1', 'prom-relay-grouping': 'instance=a' },
      });
    agg.apply(text(10), 1000);
    const state = viaJson(agg.toState());
    const keys = state.inputs.key;
    expect(keys).toHaveLength(200);
    // the first whole, the others after a head or two (a head is kept while the keys made next start with it)
    const heads = (state.inputs.head ?? []).filter((h) => h > 0);
    expect(new Set(heads).size).toBeLessThanOrEqual(3);
    expect(keys.slice(1).every((k) => k.length < 20)).toBe(true);
    const whole = keys.map((k, j) => {
      let i = 0;
      let h = 0;
      for (let r = 0; r < state.inputs.head!.length && i <= j; r++) {
        const v = state.inputs.head![r]!;
        if (v < 0) {
          const run = -v;
          h = state.inputs.head![++r]!;
          i += run;
        } else {
          h = v;
          i += 1;
        }
      }
      return (h > 0 ? state.strings[h - 1]! : '') + k;
    });
    expect(whole).toEqual(body(0).split('\n').map((l) => l.slice(0, l.lastIndexOf(' '))));
    // restored: the next push's values are increases of the same series
    const restored = PartitionAggregate.fromState(state, options());
    restored.apply(text(15), 2000);
    const totals = restored.collect(3000).map((x) => x.value);
    // no input made anew: every key of the second push found its restored input
    expect(restored.toState().inputs.key).toHaveLength(200);
    expect(totals).toHaveLength(200);
    expect(totals.reduce((a, b) => a + b, 0)).toBe(200 * 15 + (199 * 200) / 2);
  });

  it('writes what repeats as runs: one metric of one job is a run in each of its columns, whatever the series count', () => {
    const agg = new PartitionAggregate(options());
    const points = Array.from({ length: 500 }, (_, i) => counter('rows_total', i, { shard: `s${i}`, status: 'ok' }));
    agg.apply(batch({ producer: 'p1', grouping: { instance: 'a' }, points }), 1000);
    const state = agg.toState();
    // -500 then the value: 500 times the same
    for (const column of [state.outputs.shape, state.outputs.mode, state.outputs.job, state.inputs.family, state.inputs.type, state.inputs.flags, state.inputs.group]) {
      expect(column).toHaveLength(2);
      expect(column[0]).toBe(-500);
    }
    // labels in name order: __name__, job, shard (a value each), status
    const [name, job, shard, status] = state.outputs.labels.map((runs) => runs.map((v) => (v < 0 ? v : state.strings[v])));
    expect([name, job, status]).toEqual([
      [-500, 'rows_total'],
      [-500, 'job1'],
      [-500, 'ok'],
    ]);
    expect(shard).toEqual(points.map((p) => p.labels['shard']));
    expect(state.outputs.value).toEqual(points.map((p) => p.value));
  });

  it('refuses what is not a state or is corrupt, naming why', () => {
    expect(() => PartitionAggregate.fromState({ format: 'prom-relay.aggregate', version: 6 }, options())).toThrow(/not an aggregate state/);
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', points: [counter('a_total', 5), counter('b_total', 5)] }), 1000);
    const cut = viaJson(agg.toState());
    cut.outputs.job = [cut.outputs.job[1]!]; // one value where two outputs need one each
    expect(() => PartitionAggregate.fromState(cut, options())).toThrow(/corrupt.*outputs\.job ends early/);
    const wrongString = viaJson(agg.toState());
    wrongString.inputs.family = [-2, 99];
    expect(() => PartitionAggregate.fromState(wrongString, options())).toThrow(/corrupt.*string index 99/);
    const v2 = viaJson(fixture.state);
    v2.outputs.lastFed.pop();
    expect(() => PartitionAggregate.fromState(v2, SCENARIO_OPTIONS)).toThrow(AggregateError);
    expect(() => PartitionAggregate.fromState(v2, SCENARIO_OPTIONS)).toThrow(/corrupt.*differ in length/);
  });
});
