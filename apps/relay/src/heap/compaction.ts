// The old generation given back once it is mostly holes. An aggregator's objects are made interleaved: a series' input,
// its key, its output and its labels side by side on V8's pages. When its producers and input series expire (jobs that
// ran and exited: their totals are kept, not their inputs), every page keeps its outputs and loses the rest, so the old
// space stays committed at its former size with ~40 % of it free: V8's regular major GC moves only nearly empty pages
// (BENCHMARKS.md, *Relay core*: 1M kept totals held 240 MB of committed old space for 147 MB live). A memory-reducing
// GC (what V8 runs for a low-memory notification) moves the live objects together and gives the emptied pages and the
// young generation's unused room back: here 467 -> 369 MB RSS, a 184 ms pause (346 ms of CPU on 2 cores).
//
// So after every major GC (a `gc` performance entry) the old space is read: when what is committed but not live is at
// least `minWasteBytes` and at least `wasteShare` of what is live — more than the growth the old generation is allowed
// before its next major GC (`wasteShareFor`), which a busy relay's flush garbage fills again anyway — one
// memory-reducing GC runs, at most once per `minIntervalMs`. A relay of 1M series pushed and flushed again and again
// did not reach it in 13 major GCs, nor once its producers expired while it flushed on (holes 49 % of the live size,
// within the allowance); a relay whose producers expired while it was idle did (bench/relay-core.ts `relay-owner-kept`).
// `aggregation.heap_compaction: false` turns it off.
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';
import { memoryReducingGc } from './small-heap.js';

const MiB = 2 ** 20;

export const COMPACTION_MIN_WASTE_BYTES = 64 * MiB;
export const COMPACTION_WASTE_SHARE = 0.5;
export const COMPACTION_MIN_INTERVAL_MS = 10 * 60_000;

/**
 * The share of the live size the holes must reach for a compaction to give anything back for long: the old generation
 * may grow `heapGrowingPercent` past its live size before its next major GC (small-heap.ts), and a flush's garbage
 * fills holes up to there again; V8's own growth (0) lets it reach 2-4x, so the live size once more. At least
 * COMPACTION_WASTE_SHARE.
 */
export function wasteShareFor(heapGrowingPercent: number): number {
  return heapGrowingPercent > 0 ? Math.max(COMPACTION_WASTE_SHARE, heapGrowingPercent / 100) : 1;
}

export interface OldSpace {
  /** bytes of V8's old space in physical memory */
  committed: number;
  /** bytes of live objects in it (after a major GC: what the GC marked) */
  live: number;
}

/** What a compaction did, for the counter and the log line. */
export interface Compaction {
  before: OldSpace;
  after: OldSpace;
  /** wall time of the GC (the event loop's pause) */
  pauseMs: number;
}

export interface CompactionOptions {
  minWasteBytes?: number;
  wasteShare?: number;
  minIntervalMs?: number;
  /** after each compaction */
  onCompact?: (c: Compaction) => void;
  /** the old space now (tests give their own) */
  oldSpace?: () => OldSpace;
  /** runs one memory-reducing GC, true when it ran (tests give their own) */
  compact?: () => Promise<boolean>;
  now?: () => number;
}

export interface HeapCompaction {
  /** Whether the old space, as it is now, would be compacted (the interval aside). */
  fragmented(space: OldSpace): boolean;
  /** After a major GC: compacts when fragmented and the interval allows. Resolves to what it did, if it did. */
  afterMajorGc(): Promise<Compaction | undefined>;
  stop(): void;
}

export function readOldSpace(): OldSpace {
  const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'old_space');
  return { committed: s?.physical_space_size ?? 0, live: s?.space_used_size ?? 0 };
}

/** Compaction policy on its own (no observer): the pipeline's is `compactWhenFragmented`. */
export function heapCompaction(options: CompactionOptions = {}): HeapCompaction {
  const minWaste = options.minWasteBytes ?? COMPACTION_MIN_WASTE_BYTES;
  const share = options.wasteShare ?? COMPACTION_WASTE_SHARE;
  const interval = options.minIntervalMs ?? COMPACTION_MIN_INTERVAL_MS;
  const oldSpace = options.oldSpace ?? readOldSpace;
  const compact = options.compact ?? memoryReducingGc;
  const now = options.now ?? Date.now;
  let last = -Infinity;
  let running = false;
  let stopped = false;
  const fragmented = (s: OldSpace) => s.committed - s.live >= minWaste && s.committed - s.live >= share * s.live;
  return {
    fragmented,
    async afterMajorGc() {
      // (The compaction's own GC is a major GC too: `running` keeps it from starting another.)
      if (stopped || running || now() - last < interval) return undefined;
      const before = oldSpace();
      if (!fragmented(before)) return undefined;
      running = true;
      last = now();
      try {
        const start = performance.now();
        if (!(await compact())) return undefined;
        const compaction = { before, after: oldSpace(), pauseMs: performance.now() - start };
        options.onCompact?.(compaction);
        return compaction;
      } finally {
        running = false;
      }
    },
    stop() {
      stopped = true;
    },
  };
}

/** The policy, run after every major GC of this process's main heap (module header). */
export function compactWhenFragmented(options: CompactionOptions = {}): HeapCompaction {
  const policy = heapCompaction(options);
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) {
      void policy.afterMajorGc();
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    ...policy,
    stop() {
      policy.stop();
      observer.disconnect();
    },
  };
}
