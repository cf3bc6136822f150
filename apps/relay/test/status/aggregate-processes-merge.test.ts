// `prom-relay aggregate --processes N` answers /readyz and the status page for all its processes: ready only when every
// process answered ready, and the page shows every process's partitions, flushes and dead letters.
import { describe, expect, it } from 'vitest';
import { mergeAggregatorSnapshots } from '../../src/roles/aggregate-cluster.js';
import { mergeReadiness } from '../../src/roles/worker-cluster.js';
import { buildSnapshot, StatusRecorder, type StatusSnapshot } from '../../src/status/index.js';

function processSnapshot(partitions: number[], opts: { ready?: boolean; deadLetter?: string; flushAt?: number } = {}): StatusSnapshot {
  const now = 1_000_000;
  let clock = opts.flushAt ?? now;
  const recorder = new StatusRecorder({ now: () => clock });
  if (opts.flushAt !== undefined) recorder.flushed({ status: 'success', series: 3, partitions: partitions.length, samplesSent: 3, samplesFailed: 0, durationMs: 2 });
  clock = now;
  if (opts.deadLetter) recorder.deadLetter({ reason: opts.deadLetter, outcome: 'sent', error: 'bad', topic: 'in', partition: partitions[0]!, offset: '7' });
  const snap = buildSnapshot({
    version: '0.0.0',
    role: 'aggregate',
    owner: `h/${partitions.join('')}`,
    startedAt: now - 1000,
    readiness: { ready: opts.ready ?? true, checks: { restored: opts.ready ?? true } },
    recorder,
    partitions: [],
    maskedConfig: {},
    now,
  });
  return {
    ...snap,
    partitions: partitions.map((p) => ({ topic: 'in', partition: p, kind: 'input', nextOffset: '1', highWatermark: '1', lag: 0, series: 3, caughtUp: true, checkpointAgeSeconds: 1, checkpointBytes: 10 })),
  };
}

describe('readiness of several processes', () => {
  it('is ready only when every expected process answered ready', () => {
    const ok = { ready: true, checks: { restored: true, last_flush: 'success' } };
    expect(mergeReadiness([ok, ok], 2)).toEqual({ ready: true, checks: { restored: true, last_flush: 'success', workers: '2 of 2 answering' } });
    // One process not answering (dead, being forked again, or too slow) is not ready.
    expect(mergeReadiness([ok], 2)).toMatchObject({ ready: false, checks: { workers: '1 of 2 answering' } });
    // One still restoring: not ready, and the check says which one.
    const restoring = { ready: false, checks: { restored: false, last_flush: 'success' } };
    expect(mergeReadiness([ok, restoring], 2)).toMatchObject({ ready: false, checks: { restored: 'worker 1: true; worker 2: false', last_flush: 'success' } });
  });
});

describe('status page of several processes', () => {
  it("lists every process's partitions, flushes and dead letters", () => {
    const merged = mergeAggregatorSnapshots([
      processSnapshot([2, 0], { flushAt: 990_000 }),
      processSnapshot([1, 3], { deadLetter: 'PROM_RELAY_DECODE_TEXT', flushAt: 995_000, ready: false }),
    ]);
    expect(merged.workers).toBe(2);
    expect(merged.ready).toBe(false);
    expect(merged.partitions!.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
    expect(merged.flushes!.recent.map((f) => f.at)).toEqual([995_000, 990_000]);
    expect(merged.deadLetters!.byReason).toEqual({ PROM_RELAY_DECODE_TEXT: 1 });
    expect(merged.deadLetters!.recent).toHaveLength(1);
  });
});
