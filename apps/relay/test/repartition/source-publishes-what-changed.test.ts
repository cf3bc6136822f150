// A source partition publishes every live series on its first flush, then only the outputs fed or changed since the
// last flush (a gauge whose contribution expired or left too; ends every time), everything again every 30 minutes and
// after a failed publish.
import { describe, expect, it } from 'vitest';
import { FULL_PUBLISH_EVERY_MS, SourceState } from '../../src/repartition/index.js';
import { batch, counter, gauge, options } from '../aggregate/fixtures.js';

const names = (s: SourceState, now: number) =>
  s
    .collect(now)
    .map((x) => `${x.labels['__name__']}${x.labels['instance'] ?? ''}${x.stale ? ':stale' : ''}`)
    .sort();
const opts = () => options({ producerLabels: [], counterTtlMs: 26 * 3_600_000 });

describe('SourceState.collect: what the flush publishes', () => {
  it('outputs only when fed since the last flush; everything first, periodically and after publishAll', () => {
    const s = SourceState.create(opts(), 60 * 60_000);
    const t0 = 1_000_000;
    s.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [counter('rows_total', 1), counter('bytes_total', 5), gauge('queue', 3)] }), t0);
    expect(names(s, t0 + 1)).toEqual(['bytes_totala', 'queuea', 'rows_totala']);
    // Nothing fed: nothing changed, nothing said again.
    expect(names(s, t0 + 2)).toEqual([]);
    s.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [counter('rows_total', 4), gauge('queue', 3)] }), t0 + 3);
    expect(names(s, t0 + 4)).toEqual(['queuea', 'rows_totala']);
    // A record applied after a flush but stamped before it (Kafka timestamps lag) still counts as fed since (a POST of
    // bytes_total: the gauge is not replaced).
    s.apply(batch({ producer: 'a', grouping: { instance: 'a' }, op: 'add', points: [counter('bytes_total', 9)] }), t0);
    expect(names(s, t0 + 5)).toEqual(['bytes_totala']);
    s.publishAll();
    expect(names(s, t0 + 6)).toEqual(['bytes_totala', 'queuea', 'rows_totala']);
    expect(names(s, t0 + 7)).toEqual([]);
    expect(names(s, t0 + 6 + FULL_PUBLISH_EVERY_MS)).toEqual(['bytes_totala', 'queuea:stale', 'rows_totala']);
    // A restored state says everything on its first flush.
    const restored = SourceState.fromState(JSON.parse(JSON.stringify(s.toState())), opts(), 60 * 60_000);
    expect(names(restored, t0 + 8 + FULL_PUBLISH_EVERY_MS)).toEqual(['bytes_totala', 'rows_totala']);
  });

  it('a gauge-mode output whose contribution left (a group deleted, a producer expired) is said again', () => {
    const s = SourceState.create(options({ counterTtlMs: 26 * 3_600_000, rules: [{ match: 'queue', outputs: ['sum'] }] }), 60 * 60_000);
    const t0 = 1_000_000;
    s.apply(batch({ producer: 'a', grouping: { instance: 'a' }, points: [gauge('queue', 3)] }), t0);
    s.apply(batch({ producer: 'b', grouping: { instance: 'b' }, points: [gauge('queue', 4)] }), t0);
    expect(s.collect(t0 + 1).map((x) => x.value)).toEqual([7]);
    expect(s.collect(t0 + 2)).toEqual([]);
    s.apply(batch({ producer: 'b', grouping: { instance: 'b' }, op: 'delete' }), t0 + 3);
    expect(s.collect(t0 + 4).map((x) => x.value)).toEqual([3]);
    expect(s.collect(t0 + 5)).toEqual([]);
  });
});
