// A combiner fed every kind of partial (every mode, several sources, ended, reset and retired sources, native
// histograms with a base, metadata, a sent exemplar): the scenario the owner's state formats are checked on.
import { labelsKey } from '../../src/aggregate/index.js';
import type { NativeHistogram } from '../../src/aggregate/native-histogram.js';
import type { CombineMode } from '../../src/model.js';
import { SeriesCombiner, type PartialSeries } from '../../src/repartition/index.js';

/** Times of the scenario: applied at T0 + n, collected at COLLECT_AT (inside the TTL). */
export const T0 = 1_764_000_000_000;
export const COLLECT_AT = T0 + 5_000;
export const SCENARIO_OPTS = { ttlMs: 60_000 };

const key = (name: string, extra: Record<string, string> = {}) => labelsKey({ __name__: name, job: 'scenario', ...extra });

function nh(schema: number, positive: Record<number, number>, zeroCount = 0, float = false): NativeHistogram {
  const entries = Object.entries(positive).map(([i, c]) => [Number(i), c] as [number, number]);
  const count = zeroCount + entries.reduce((s, [, c]) => s + c, 0);
  return { schema, zeroThreshold: 0.001, zeroCount, count, sum: count * 1.25, positive: new Map(entries), negative: new Map(), float };
}

function partial(combine: CombineMode, k: string, value: number, extra: Partial<PartialSeries> = {}): PartialSeries {
  return { key: k, combine, value, stale: false, ...extra };
}

/** The scenario's steps, in order: [source, offset, time offset from T0, partials]. */
export function scenarioSteps(): Array<[string, number, number, PartialSeries[]]> {
  const total = key('rows_total');
  const ended = key('ended_total');
  const gauge = key('temperature');
  const hist = key('latency_seconds');
  const [sum, min, max, avg] = ['sum', 'min', 'max', 'avg'].map((m) => key(`rule:${m}`));
  return [
    ['in/0', 1, 0, [partial('total', total, 10), partial('last', gauge, 21.5, { at: T0 }), partial('sum', sum!, 3), partial('min', min!, 3), partial('max', max!, 3), partial('avg', avg!, 3, { sum: 3, count: 1 })]],
    ['in/1', 1, 10, [partial('total', total, 4.5), partial('last', gauge, 19, { at: T0 + 10 }), partial('sum', sum!, 5), partial('min', min!, 5), partial('max', max!, 5), partial('avg', avg!, 10, { sum: 10, count: 2 })]],
    ['in/2', 1, 20, [partial('total', total, 100.25), partial('max', key('rule:max'), Infinity), partial('total', ended, 7), partial('native', hist, 6, { histogram: nh(2, { 1: 2, 2: 3 }, 1) })]],
    ['in/1', 2, 30, [partial('total', total, 2), partial('native', hist, 4, { histogram: nh(1, { 1: 4 }, 0, true) })]],
    ['in/2', 2, 40, [partial('total', ended, NaN, { stale: true }), partial('native', hist, NaN, { stale: true }), partial('min', min!, NaN, { stale: true })]],
    ['in/0', 2, 50, [partial('total', total, 11, { exemplar: { labels: { trace_id: 'abc' }, value: 1, timestamp: T0 + 45 } })]],
  ];
}

export function buildScenario(): SeriesCombiner {
  const c = new SeriesCombiner(SCENARIO_OPTS);
  for (const [source, offset, dt, series] of scenarioSteps()) {
    c.apply({ kind: 'partials', source, offset, series, ...(offset === 1 && source === 'in/0' ? { metadata: [{ metricFamilyName: 'rows_total', type: 'counter', help: 'Rows.' }] } : {}) }, T0 + dt);
    // ended_total's value is written before its end comes (else the owner writes it before the staleness marker, and
    // the state holds the series one collect longer than the release that wrote fixtures/combine-state-v1.json did).
    if (source === 'in/2' && offset === 1) c.collect(T0 + dt);
  }
  // the exemplar goes out once: its timestamp is remembered in the state
  c.collect(T0 + 60);
  return c;
}

/** What a combiner says from here on: a collect, then one more word from each source and another collect. */
export function futureOf(c: SeriesCombiner): unknown {
  // As JSON keeps them: non-finite values as text, bucket maps as pairs.
  const plain = (samples: ReturnType<SeriesCombiner['collect']>) =>
    samples.map((s) => ({
      ...s,
      value: Number.isFinite(s.value) ? s.value : String(s.value),
      histogram: s.histogram && { ...s.histogram, positive: [...s.histogram.positive], negative: [...s.histogram.negative] },
    }));
  const first = plain(c.collect(COLLECT_AT));
  c.apply({ kind: 'partials', source: 'in/2', offset: 3, series: [partial('total', key('ended_total'), 2), partial('native', key('latency_seconds'), 2, { histogram: nh(0, { 1: 2 }) })] }, COLLECT_AT + 1);
  c.apply({ kind: 'partials', source: 'in/1', offset: 3, series: [partial('total', key('rows_total'), 1)] }, COLLECT_AT + 1);
  const second = plain(c.collect(COLLECT_AT + 2));
  return { first, second, metadata: c.metadata(COLLECT_AT + 2) };
}
