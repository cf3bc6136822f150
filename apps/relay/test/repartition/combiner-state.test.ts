// The owner's checkpoint form: version 3 (columns, labels by shape and string table) restores to exactly the same
// future as the combiner it came from, and the version 1 and 2 states written by earlier relays
// (fixtures/combine-state-v1.json, fixtures/combine-state-v2.json by 99e61c6) still restore, so an upgrade in the
// middle of a run changes no total.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SeriesCombiner } from '../../src/repartition/index.js';
import { SCENARIO_OPTS, buildScenario, futureOf } from './combiner-scenario.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/combine-state-v1.json', import.meta.url), 'utf8')) as { state: { version: number }; future: unknown };
const fixtureV2 = JSON.parse(readFileSync(new URL('./fixtures/combine-state-v2.json', import.meta.url), 'utf8')) as { state: { version: number }; future: unknown };
const viaJson = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;

describe('SeriesCombiner state', () => {
  afterEach(() => vi.useRealTimers());

  it('writes version 3 columns and restores them to the same future (every mode, several sources, ended, native, metadata, exemplars sent)', () => {
    const state = buildScenario().toState();
    expect(state.version).toBe(3);
    expect(state.series.mode).toHaveLength(7);
    // No key strings (but the ids of series that sent an exemplar): label names and values once each; one shape.
    expect(JSON.stringify(state.series)).not.toContain('__name__=');
    expect(state.shapes).toHaveLength(1);
    expect(state.strings.filter((x) => x === 'scenario')).toHaveLength(1);
    // Each source named once; a source entry per (series, source).
    expect(state.sources.sort()).toEqual(['in/0', 'in/1', 'in/2']);
    expect(state.entries.src.length).toBe(state.series.entries.reduce((a, b) => a + b, 0));
    // Restored by a process started an hour later: its times count from another epoch.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 3_600_000);
    const restored = SeriesCombiner.fromState(viaJson(state), SCENARIO_OPTS);
    expect(viaJson(futureOf(restored))).toEqual(viaJson(futureOf(buildScenario())));
    // The exemplar sent before the checkpoint is not sent again after it.
    expect(JSON.stringify(futureOf(SeriesCombiner.fromState(viaJson(state), SCENARIO_OPTS)))).not.toContain('trace_id');
  });

  it('restores a version 1 state written by the previous release to the future that release computed', () => {
    expect(fixture.state.version).toBe(1);
    const restored = SeriesCombiner.fromState(fixture.state, SCENARIO_OPTS);
    expect(viaJson(futureOf(restored))).toEqual(fixture.future);
    // and the scenario itself still computes that future (the fixture is not stale)
    expect(viaJson(futureOf(buildScenario()))).toEqual(fixture.future);
  });

  it('a restored version 1 state writes version 3 with the same future', () => {
    const again = SeriesCombiner.fromState(viaJson(SeriesCombiner.fromState(fixture.state, SCENARIO_OPTS).toState()), SCENARIO_OPTS);
    expect(viaJson(futureOf(again))).toEqual(fixture.future);
  });

  it('restores a version 2 state written by the previous release (99e61c6) to the future that release computed, and writes it as version 3', () => {
    expect(fixtureV2.state.version).toBe(2);
    expect(viaJson(futureOf(SeriesCombiner.fromState(fixtureV2.state, SCENARIO_OPTS)))).toEqual(fixtureV2.future);
    expect(viaJson(futureOf(buildScenario()))).toEqual(fixtureV2.future);
    const rewritten = viaJson(SeriesCombiner.fromState(fixtureV2.state, SCENARIO_OPTS).toState()) as { version: number };
    expect(rewritten.version).toBe(3);
    expect(viaJson(futureOf(SeriesCombiner.fromState(rewritten, SCENARIO_OPTS)))).toEqual(fixtureV2.future);
  });

  it('refuses what is not a combiner state, naming why', () => {
    expect(() => SeriesCombiner.fromState({ format: 'prom-relay.aggregate', version: 2 }, SCENARIO_OPTS)).toThrow(/not a combiner state.*unknown format/);
    expect(() => SeriesCombiner.fromState({ format: 'prom-relay.combine', version: 4 }, SCENARIO_OPTS)).toThrow(/version 4/);
    expect(() => SeriesCombiner.fromState({ ...(viaJson(buildScenario().toState()) as object), shapes: [[0, 99]] }, SCENARIO_OPTS)).toThrow(/string 99 is missing/);
    const state = viaJson(buildScenario().toState()) as { series: { mode: number[] } };
    state.series.mode[0] = 99;
    expect(() => SeriesCombiner.fromState(state, SCENARIO_OPTS)).toThrow(/mode 99/);
  });
});
