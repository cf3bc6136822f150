// `prom-relay ingest` keeps its V8 heap small without a node flag (see the ingest README, Memory). Under load the
// ingest's RSS follows V8's young generation (its semi-spaces grow to 16 MiB each by default, and every dead Buffer
// waits for the next scavenge) and the old generation V8 lets grow to up to 4x its live size between major GCs.
// `--max-semi-space-size` is read once, when the heap is set up, so a process cannot give it to itself; two other
// flags are read at every GC and are set here at run time:
// - `--semi-space-growth-factor`: 2 (V8's default) while the semi-space is below the cap, 1 once it reached it, so
//   it grows 1 -> 2 -> 4 MiB and stops there (checked after every GC; V8 still shrinks it when allocation is low);
//   one memory-reducing GC at the start brings back a semi-space that module loading already grew past the cap;
// - `--heap-growing-percent`: the old generation's next limit is its live size plus this share (at least 8 MiB
//   more, V8's own minimum step), not up to 4x.
// Process-wide: only for a process that is the ingest alone. In `prom-relay run` the aggregator shares the process.
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

const MiB = 2 ** 20;

/** The ingest's semi-space cap: 4 MiB, the young generation 8 MiB (V8's default 16 and 32 on 64-bit machines). */
export const INGEST_SEMI_SPACE_MIB = 4;
/** The old generation may grow 20% past its live size before the next major GC (V8: 30% to 300%, by GC speed). */
export const INGEST_HEAP_GROWING_PERCENT = 20;

export interface SmallHeapOptions {
  semiSpaceMiB?: number;
  heapGrowingPercent?: number;
}

/** What the ingest's worker thread gets: the same young generation cap, as the thread's own resource limit. */
export function workerResourceLimits(semiSpaceMiB = INGEST_SEMI_SPACE_MIB): { maxYoungGenerationSizeMb: number } {
  // V8 sizes a young generation as three semi-spaces (two, and as much again for large new objects).
  return { maxYoungGenerationSizeMb: 3 * semiSpaceMiB };
}

/** The main heap's semi-space capacity now, in bytes (what new objects fill before a scavenge). */
export function semiSpaceBytes(): number {
  const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  return s ? s.space_used_size + s.space_available_size : 0;
}

let stopActive: (() => void) | undefined;

/**
 * Caps the process's young generation and tightens its old generation's growth (module header). Idempotent: a second
 * call while active returns the same stop. `stop` restores V8's defaults (tests; a process that keeps the cap never
 * calls it).
 */
export function keepHeapSmall(options: SmallHeapOptions = {}): () => void {
  if (stopActive) return stopActive;
  const cap = (options.semiSpaceMiB ?? INGEST_SEMI_SPACE_MIB) * MiB;
  v8.setFlagsFromString(`--heap-growing-percent=${options.heapGrowingPercent ?? INGEST_HEAP_GROWING_PERCENT}`);
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
  if (semiSpaceBytes() > cap * 1.1) shrinkYoungGeneration();
  const stop = () => {
    if (stopActive !== stop) return;
    stopActive = undefined;
    observer.disconnect();
    v8.setFlagsFromString('--semi-space-growth-factor=2');
    v8.setFlagsFromString('--heap-growing-percent=0');
  };
  stopActive = stop;
  return stop;
}

/**
 * One memory-reducing GC (V8's LowMemoryNotification, through the in-process inspector session: no port is opened),
 * after which V8 shrinks the semi-spaces to what is alive. Without an inspector (a node built without it) the cap
 * takes effect at V8's next shrink instead, the first time the ingest is idle.
 */
function shrinkYoungGeneration(): void {
  import('node:inspector')
    .then(({ Session }) => {
      const session = new Session();
      session.connect();
      // Disconnecting inside the callback stalls node 20's event loop: after it returned.
      session.post('HeapProfiler.collectGarbage', () => setImmediate(() => session.disconnect()));
    })
    .catch(() => undefined);
}
