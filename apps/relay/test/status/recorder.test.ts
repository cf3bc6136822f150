// The status page's memory is bounded whatever the traffic, and what it shows is escaped.
import { describe, expect, it } from 'vitest';
import { buildSnapshot, mergeSnapshots, RECENT_DEAD_LETTERS, RECENT_FLUSHES, renderStatusPage, StatusRecorder, type StatusSnapshot } from '../../src/status/index.js';

const flush = (over: Partial<{ status: string; samplesSent: number; samplesFailed: number }> = {}) => ({
  status: 'success',
  series: 1,
  partitions: 1,
  samplesSent: 1,
  samplesFailed: 0,
  durationMs: 3,
  ...over,
});

function snapshot(recorder: StatusRecorder, now: number): StatusSnapshot {
  return buildSnapshot({
    version: '0.0.0',
    role: 'ingest',
    owner: 'h/1',
    startedAt: now - 1000,
    readiness: { ready: true, checks: { kafka: 'connected' } },
    recorder,
    maskedConfig: { ingest: { password: '<masked>' } },
    now,
  });
}

describe('StatusRecorder', () => {
  it('keeps at most maxJobs jobs (least recently pushed dropped, counted) and maxProducersPerJob producers each', () => {
    let now = 1_000_000;
    const r = new StatusRecorder({ maxJobs: 3, maxProducersPerJob: 2, now: () => now });
    for (const job of ['a', 'b', 'c']) r.pushed({ job, grouping: {}, producerId: `${job}-1`, op: 'push', at: now++ });
    r.pushed({ job: 'a', grouping: {}, producerId: 'a-1', op: 'push', at: now++ }); // a is the most recent now
    r.pushed({ job: 'd', grouping: {}, producerId: 'd-1', op: 'push', at: now++ }); // b goes
    for (let i = 2; i <= 5; i++) r.pushed({ job: 'a', grouping: { instance: `h${i}` }, producerId: `a-${i}`, op: 'add', at: now++ });
    const jobs = r.jobs();
    expect(jobs.rows.map((j) => j.job)).toEqual(['a', 'd', 'c']);
    expect(jobs.evicted).toBe(1);
    const a = jobs.rows[0]!;
    expect(a.pushes).toBe(6);
    expect(a.producers.map((p) => p.producerId)).toEqual(['a-5', 'a-4']);
    expect(a.producersEvicted).toBe(3);
    expect(a.producers[0]).toMatchObject({ grouping: { instance: 'h5' }, lastOp: 'add', pushes: 1 });
  });

  it('keeps the last flushes, and per-minute totals of the last hour only', () => {
    let now = Date.UTC(2026, 0, 1);
    const r = new StatusRecorder({ now: () => now });
    for (let i = 0; i < 3 * 60 * 6; i++) {
      r.flushed(flush({ samplesSent: 2, samplesFailed: i % 2, status: i % 2 ? 'failure' : 'success' }));
      now += 10_000;
    }
    const f = r.flushes();
    expect(f.recent).toHaveLength(RECENT_FLUSHES);
    expect(f.minutes.length).toBeLessThanOrEqual(60);
    expect(f.minutes.every((m) => m.minute > now - 3_600_000)).toBe(true);
    expect(f.minutes.at(-2)).toMatchObject({ flushes: 6, failedFlushes: 3, samplesSent: 12, samplesFailed: 3 });
    // An idle hour later nothing is left for the plot.
    now += 3_600_000;
    expect(r.flushes().minutes).toEqual([]);
  });

  it('counts dead letters by reason and keeps the last few errors, clipped', () => {
    const r = new StatusRecorder();
    for (let i = 0; i < 25; i++) {
      r.deadLetter({ reason: i % 2 ? 'PROM_RELAY_DECODE_TEXT' : 'PROM_RELAY_DECODE_HEADER', outcome: 'sent', error: 'x'.repeat(1000), topic: 't', partition: 0, offset: String(i) });
    }
    const d = r.deadLetters();
    expect(d.byReason).toEqual({ PROM_RELAY_DECODE_HEADER: 13, PROM_RELAY_DECODE_TEXT: 12 });
    expect(d.recent).toHaveLength(RECENT_DEAD_LETTERS);
    expect(d.recent[0]!.offset).toBe('24');
    expect(d.recent[0]!.error.length).toBeLessThan(400);
  });
});

describe('status snapshot and page', () => {
  it('merges ingest workers: pushes summed, producers merged, ready only when all are', () => {
    const now = Date.now();
    const a = new StatusRecorder();
    const b = new StatusRecorder();
    a.pushed({ job: 'j', grouping: { instance: 'h1' }, producerId: 'p1', op: 'push', at: now - 50 });
    b.pushed({ job: 'j', grouping: { instance: 'h1' }, producerId: 'p1', op: 'push', at: now - 10 });
    b.pushed({ job: 'j', grouping: { instance: 'h2' }, producerId: 'p2', op: 'push', at: now - 20 });
    const sa = snapshot(a, now);
    const sb = { ...snapshot(b, now), ready: false, checks: { kafka: 'unreachable' } };
    const m = mergeSnapshots([sa, sb]);
    expect(m.workers).toBe(2);
    expect(m.ready).toBe(false);
    expect(m.checks.kafka).toBe('worker 1: connected; worker 2: unreachable');
    expect(m.jobs.rows).toHaveLength(1);
    expect(m.jobs.rows[0]).toMatchObject({ job: 'j', pushes: 3, lastPush: now - 10 });
    expect(m.jobs.rows[0]!.producers.map((p) => [p.producerId, p.pushes])).toEqual([['p1', 2], ['p2', 1]]);
  });

  it('escapes what producers send: a job name cannot inject markup', () => {
    const r = new StatusRecorder();
    r.pushed({ job: '<script>alert(1)</script>', grouping: { instance: '"><img src=x>' }, producerId: '<b>p</b>', op: 'push', at: Date.now() });
    const html = renderStatusPage(snapshot(r, Date.now()));
    expect(html).not.toMatch(/<script|<img|<b>/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // The ingest role consumes nothing: no partition, flush or dead-letter section.
    expect(html).not.toContain('id="partitions"');
    expect(html).toContain('id="jobs"');
  });
});
