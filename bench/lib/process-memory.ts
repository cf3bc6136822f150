// Reading a process's memory for the benchmarks' child processes: heap and RSS once settled, while or after a state is
// built, with the relay's heap policies on where the child stands for a relay, and the environment the deploy files
// give the relay's process.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { compactWhenFragmented } from '../../apps/relay/src/heap/compaction.js';
import { AGGREGATOR_HEAP_GROWING_PERCENT, keepAggregatorHeapSmall } from '../../apps/relay/src/heap/small-heap.js';

setFlagsFromString('--expose-gc');
export const gc = (globalThis.gc ?? runInNewContext('gc')) as () => void;

export interface Growth<T> {
  heap: number;
  rss: number;
  value: T;
}

/**
 * Heap used (with the array buffers it holds: the owner's series are typed columns, outside V8's heap) and RSS after
 * two full GCs, once RSS has settled: V8 gives the pages a GC emptied back on a background thread, so RSS read at once
 * still holds a varying part of them (up to 60 MB of 100k series' 180 seen). Read every 100 ms until two readings agree
 * within 256 KiB (at most 5 s), the main thread waiting.
 */
export function settled(): { heap: number; rss: number } {
  gc();
  gc();
  const wait = new Int32Array(new SharedArrayBuffer(4));
  let rss = process.memoryUsage.rss();
  for (let waited = 0; waited < 5_000; waited += 100) {
    Atomics.wait(wait, 0, 0, 100);
    const now = process.memoryUsage.rss();
    const settledNow = Math.abs(now - rss) < 256 * 1024;
    rss = now;
    if (settledNow) break;
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
}

export function memory<T>(build: () => T): Growth<T> {
  const before = settled();
  const value = build();
  const after = settled();
  return { heap: after.heap - before.heap, rss: after.rss - before.rss, value };
}

/**
 * `restS` > 0: the event loop left free that long before each reading, the baseline's and the state's (a relay
 * between flushes; V8's memory reducer runs only then). With the relay's heap policies on (`asRelay`), a full GC and a second for them to act first.
 */
export async function memoryAsync<T>(build: () => Promise<T>, restS = 0): Promise<Growth<T>> {
  // (At rest, the baseline too: the young generation V8 grew while loading the code shrinks only then.)
  if (restS > 0) await sleep(restS * 1000);
  const before = settled();
  const value = await build();
  if (relayPolicies) {
    gc();
    await sleep(1000);
  }
  if (restS > 0) await sleep(restS * 1000);
  const after = settled();
  return { heap: after.heap - before.heap, rss: after.rss - before.rss, value };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let relayPolicies = false;
/** The heap policies `prom-relay run` and `aggregate` set in their process (apps/relay/src/heap): the "one relay" children run under them. */
export function asRelay(): void {
  keepAggregatorHeapSmall(AGGREGATOR_HEAP_GROWING_PERCENT);
  compactWhenFragmented();
  relayPolicies = true;
}

/**
 * glibc's malloc settings the deploy files give the relay (deploy/container/Containerfile's `ENV MALLOC_…` lines, which
 * deploy/systemd repeats): every memory child runs under them, the peer's too, unless `mallocDefaults`.
 */
export function deployedMalloc(): Record<string, string> {
  const file = readFileSync(fileURLToPath(new URL('../../deploy/container/Containerfile', import.meta.url)), 'utf8');
  return Object.fromEntries([...file.matchAll(/^ENV (MALLOC_\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The environment of a memory child: this one's, with the deploy files' malloc settings or (`mallocDefaults`) none. */
export function childEnv(mallocDefaults = false): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('MALLOC_')) delete env[k];
  return mallocDefaults ? env : { ...env, ...deployedMalloc() };
}
