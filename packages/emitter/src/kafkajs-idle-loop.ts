// kafkajs 2.2.4 bug (tulios/kafkajs#1704, #1556, fix proposed in PR #1667, unreleased): once a connection has had an
// answer, its RequestQueue re-arms a ref'd timer with a negative delay (1 ms) forever, even with nothing pending.
// Such an idle connection keeps a finished job's process alive (and spins), so `beforeExit` never comes while the
// emitter is connected. This skips the timer when nothing is pending and nothing is throttled, for the queues
// created with `enforceRequestTimeout: false` only: the emitter's (it bounds attempts itself, see emitter.ts).
// Queues of any other kafkajs client in the process, which enforce request timeouts with their own ref'd interval
// anyway, run kafkajs' code unchanged, unless `allQueues` asks for every queue: a long-running service (the relay)
// whose connections would otherwise each wake the event loop every millisecond (2% of a core idle, and a timer per
// loop iteration under load). Skipping is safe for any queue: a request pushed later checks the queue itself, one
// answered checks it again, and request timeouts have their own interval.
import { createRequire } from 'node:module';

interface RequestQueueLike {
  enforceRequestTimeout: boolean;
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

let applied = false;
let allQueues = false;

/** Applies the fix once per process; a kafkajs without that internal (another version) is left alone. */
export function fixKafkajsIdleLoop(options: { allQueues?: boolean } = {}): void {
  if (options.allQueues) allQueues = true;
  if (applied) return;
  applied = true;
  let RequestQueue: { prototype: RequestQueueLike } | undefined;
  try {
    RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueLike };
  } catch {
    return;
  }
  const original = RequestQueue?.prototype?.scheduleCheckPendingRequests;
  if (typeof original !== 'function') return;
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueLike): void {
    if ((allQueues || this.enforceRequestTimeout === false) && this.pending.length === 0 && !(this.throttledUntil > Date.now())) return;
    original.call(this);
  };
}
