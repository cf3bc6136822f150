// A small V8 heap for a long-running relay process, kept by the process itself, without a node flag. Two policies:
// - `prom-relay ingest` (see the ingest README, Memory): its RSS follows V8's young generation (its semi-spaces grow
//   to 16 MiB each by default, and every dead Buffer waits for the next scavenge) and the old generation V8 lets grow
//   to up to 4x its live size between major GCs: `keepHeapSmall()`, a 4 MiB semi-space and +20%;
// - `prom-relay aggregate` and `run` (apps/relay/README.md, Memory): the aggregator's live state is large and each
//   flush allocates and promotes its own size in garbage, which an old generation allowed to grow to 2-4x its live
//   size keeps in RSS until the next major GC: `keepAggregatorHeapSmall()`, `aggregation.heap_growing_percent`; and
//   its young generation, grown to V8's 16 MiB semi-spaces by a flush, stays committed until the process is idle a
//   while: an 8 MiB semi-space, `aggregation.semi_space_mib`.
// `--max-semi-space-size` is read once, when the heap is set up, so a process cannot give it to itself; two other
// flags are read at every GC and are set here at run time:
// - `--semi-space-growth-factor`: 2 (V8's default) while the semi-space is below the cap, 1 once it reached it, so
//   it grows 1 -> 2 -> 4 MiB and stops there (checked after every GC; V8 still shrinks it when allocation is low);
//   one memory-reducing GC at the start brings back a semi-space that module loading already grew past the cap;
// - `--heap-growing-percent`: the old generation's next limit is its live size plus this share (at least 8 MiB
//   more, V8's own minimum step), not up to 4x. Not while the ingest's worker thread decodes a big body or a Remote
//   Write request (`workerBusy`): its heap grows by tens of MiB per body, and a major GC every 8 MiB or so cost it
//   ~50% more CPU; the flag is process-wide, so the main heap gets V8's growth back meanwhile too.
// With a semi-space cap, a worker thread's young generation is V8's 16 MiB semi-space from its start
// (`--min-semi-space-size`, read when its heap is set up): what it grew to before, without depending on the growth
// factor the main heap sets. Process-wide: one policy per process (the first one asked for).
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

const MiB = 2 ** 20;

/** The ingest's semi-space cap: 4 MiB, the young generation 8 MiB (V8's default 16 and 32 on 64-bit machines). */
export const INGEST_SEMI_SPACE_MIB = 4;
/** The old generation may grow 20% past its live size before the next major GC (V8: 10% to 300%, by GC speed). */
export const INGEST_HEAP_GROWING_PERCENT = 20;
/** The worker thread's semi-space, from its start: V8's default maximum on 64-bit machines. */
export const WORKER_SEMI_SPACE_MIB = 16;

/**
 * The aggregating roles' default `aggregation.heap_growing_percent`: the old generation may grow this share past its
 * live size before the next major GC. Measured in BENCHMARKS.md (*Aggregator heap*).
 */
export const AGGREGATOR_HEAP_GROWING_PERCENT = 50;

export interface SmallHeapOptions {
  /** the young generation's semi-space cap in MiB; 0: none (V8's own growth, up to its 16 MiB) */
  semiSpaceMiB?: number;
  heapGrowingPercent?: number;
}

export interface SmallHeap {
  /** Restores V8's defaults (tests; a process that keeps the small heap never calls it). */
  stop(): void;
  /** The worker thread has work (true) or none left (false): V8's old-generation growth meanwhile. */
  workerBusy(busy: boolean): void;
}

/** The main heap's semi-space capacity now, in bytes (what new objects fill before a scavenge). */
export function semiSpaceBytes(): number {
  const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  return s ? s.space_used_size + s.space_available_size : 0;
}

let active: SmallHeap | undefined;

/**
 * Caps the process's young generation and tightens its old generation's growth (module header). Idempotent: a second
 * call while active returns the same handle.
 */
export function keepHeapSmall(options: SmallHeapOptions = {}): SmallHeap {
  if (active) return active;
  const cap = (options.semiSpaceMiB ?? INGEST_SEMI_SPACE_MIB) * MiB;
  const growingPercent = options.heapGrowingPercent ?? INGEST_HEAP_GROWING_PERCENT;
  v8.setFlagsFromString(`--heap-growing-percent=${growingPercent}`);
  const observer = cap > 0 ? capYoungGeneration(cap) : undefined;
  let relaxed = false;
  const handle: SmallHeap = {
    stop() {
      if (active !== handle) return;
      active = undefined;
      v8.setFlagsFromString('--heap-growing-percent=0');
      if (!observer) return;
      observer.disconnect();
      v8.setFlagsFromString('--semi-space-growth-factor=2');
      v8.setFlagsFromString('--min-semi-space-size=0');
    },
    workerBusy(busy) {
      if (active !== handle || busy === relaxed) return;
      relaxed = busy;
      v8.setFlagsFromString(`--heap-growing-percent=${busy ? 0 : growingPercent}`);
    },
  };
  active = handle;
  return handle;
}

/**
 * The aggregating roles' default `aggregation.semi_space_mib`: the young generation's semi-space stops growing at 8 MiB
 * (V8's own: 16). A relay's young generation reaches V8's cap whenever a flush or a burst of new series keeps many
 * objects alive across scavenges, and stays there, committed, until the process has been idle a while: 16 MiB of RSS
 * that at 100k series is 0.16 KB a series (BENCHMARKS.md, *Relay core*). The cost is the flush's: ~10 % more CPU per
 * flush cycle at 100k series (more of its short-lived objects promoted; apps/relay/README.md, *Memory*); decode and
 * aggregate of pushes did not reach 8 MiB semi-spaces.
 */
export const AGGREGATOR_SEMI_SPACE_MIB = 8;

/**
 * `prom-relay aggregate` and `run`: the old generation's next limit is its live size + `heapGrowingPercent` (the
 * config's `aggregation.heap_growing_percent`; 0 leaves V8's own growth) and the young generation's semi-space stops
 * at `semiSpaceMiB` (`aggregation.semi_space_mib`; 0: V8's own growth, up to 16 MiB). Both 0: no policy, undefined.
 * Keeps the ingest's policy where that one is active already.
 */
export function keepAggregatorHeapSmall(heapGrowingPercent: number, semiSpaceMiB = AGGREGATOR_SEMI_SPACE_MIB): SmallHeap | undefined {
  if (heapGrowingPercent <= 0 && semiSpaceMiB <= 0) return undefined;
  return keepHeapSmall({ semiSpaceMiB, heapGrowingPercent });
}

/** The policy in force in this process, if any: the ingest's worker thread tells it when it has work. */
export function activeSmallHeap(): SmallHeap | undefined {
  return active;
}

/** The semi-space stops growing at `cap` bytes (module header); answers the observer that keeps it there. */
function capYoungGeneration(cap: number): PerformanceObserver {
  // Heaps set up from now on (the worker thread's) start at this semi-space; the main heap's is set up already.
  v8.setFlagsFromString(`--min-semi-space-size=${WORKER_SEMI_SPACE_MIB}`);
  let factor = 2;
  const check = () => {
    // Capacity is a whole number of 256 KiB pages, a little under the nominal size: 90% of the cap counts as reached.
    const want = semiSpaceBytes() >= cap * 0.9 ? 1 : 2;
    if (want === factor) return;
    factor = want;
    v8.setFlagsFromString(`--semi-space-growth-factor=${want}`);
  };
  const observer = new PerformanceObserver(check);
  observer.observe({ entryTypes: ['gc'] });
  check();
  // One memory-reducing GC, after which V8 shrinks the semi-spaces to what is alive; without an inspector (a node built
  // without one) the cap takes effect at V8's next shrink instead, the first time the ingest is idle.
  if (semiSpaceBytes() > cap * 1.1) void memoryReducingGc();
  return observer;
}

/**
 * One memory-reducing GC: V8's LowMemoryNotification, asked through the in-process inspector session (no port is
 * opened; it runs while the request is handled, on this thread). It compacts the old generation (heap/compaction.ts)
 * and shrinks the young one to what is alive. Resolves to false where there is no inspector (a node built without one).
 */
export async function memoryReducingGc(): Promise<boolean> {
  try {
    const { Session } = await import('node:inspector');
    const session = new Session();
    session.connect();
    return await new Promise<boolean>((resolve) => {
      session.post('HeapProfiler.collectGarbage', (err) => {
        // Disconnecting inside the callback stalls node 20's event loop: after it returned.
        setImmediate(() => {
          session.disconnect();
          resolve(err === null);
        });
      });
    });
  } catch {
    return false;
  }
}
