// What an owner writes for one series over its next collects, checked against the ways the same messages can reach it
// again: a replay onto the owner restored from its checkpoint, and the same messages said again after each collect
// (a repeated message, a failed publish said again, a source's replay after a crash), before or after the series'
// staleness marker. Shared by the whole-job-delete regression tests.
import { expect } from 'vitest';
import type { OutputSample } from '../../src/model.js';
import { SeriesCombiner } from '../../src/repartition/index.js';
import { OWNER, applyAll, find, viaJson, type Pipeline } from './partials-pipeline.js';

/** A sample as a test reads it: 'stale', a native histogram's count, or the value. */
export const show = (s: OutputSample | undefined) => (s === undefined ? undefined : s.stale ? 'stale' : (s.histogram?.count ?? s.value));

/**
 * What `p`'s owner writes for `name` in its next `n` collects (10 s apart, from `at`), the `messages` already applied.
 * Also: an owner restored from the checkpoint taken before the first collect, given the messages again, writes the same;
 * and after every collect, the messages said again (to the owner, and to an owner restored from the checkpoint taken
 * then) change nothing, whatever that collect wrote (a value, the final total or the staleness marker).
 */
export function writes(p: Pipeline, messages: Buffer[], name: string, at: number, n = 3): Array<OutputSample | undefined> {
  const before = SeriesCombiner.fromState(viaJson(p.owner.toState()), OWNER);
  applyAll(before, messages, at);
  const seq: Array<OutputSample | undefined> = [];
  const restored: Array<{ owner: SeriesCombiner; from: number }> = [];
  for (let i = 0; i < n; i++) {
    const when = at + i * 10_000;
    seq.push(find(p.owner.collect(when), name));
    expect(find(before.collect(when), name), `restored before collect ${i}, the messages replayed`).toEqual(seq[i]);
    for (const r of restored) {
      expect(find(r.owner.collect(when), name), `restored after collect ${r.from}, the messages replayed: collect ${i}`).toEqual(seq[i]);
    }
    if (i < n - 1) {
      const owner = SeriesCombiner.fromState(viaJson(p.owner.toState()), OWNER);
      applyAll(owner, messages, when + 1);
      restored.push({ owner, from: i });
      applyAll(p.owner, messages, when + 1);
    }
  }
  return seq;
}
