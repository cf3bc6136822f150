// A cluster that just started answers "not yet" for a while (topic metadata not propagated, coordinator loading,
// no leader elected): those answers are retried with backoff until a deadline; any other error is thrown at once.
import type { Logger } from 'pino';
import { isRetriableKafkaError, rootMessage } from './errors.js';

export interface StartupRetryOptions {
  /** give up after this long; default 2 minutes */
  deadlineMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
}

export const STARTUP_DEADLINE_MS = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` until it succeeds, retrying only errors waiting can cure; `what` names the step in the log. */
export async function retryWhileStarting<T>(what: string, fn: () => Promise<T>, opts: StartupRetryOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.deadlineMs ?? STARTUP_DEADLINE_MS);
  const min = opts.minBackoffMs ?? 250;
  const max = opts.maxBackoffMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const delay = Math.min(max, min * 2 ** (attempt - 1));
      if (!isRetriableKafkaError(err) || Date.now() + delay > deadline) throw err;
      // Routine on a starting cluster: info, not error.
      opts.logger?.info({ step: what, attempt, retryInMs: delay, reason: rootMessage(err) }, 'kafka not ready yet; retrying');
      await sleep(delay);
    }
  }
}
