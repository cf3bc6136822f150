import { PushClientError } from '../errors.js';
import type { SendOptions, Transport, TransportRequest, TransportResult } from './types.js';

export interface RetryPolicy {
  /** First backoff in ms; doubles after each retryable answer. */
  minBackoffMs: number;
  /** Cap of the exponential backoff in ms (a Retry-After header may ask for longer and is honoured). */
  maxBackoffMs: number;
  /** Fraction of random spread around each backoff, 0..1 (0.2: ±20%), so many clients do not retry in step. */
  jitter: number;
  /** Attempts in total, first one included; Infinity retries until delivered or the deadline. */
  maxAttempts: number;
  /**
   * Keep the backoff from one send() to the next until a request succeeds: while a receiver keeps failing,
   * each new send's first retry waits at least the last backoff (capped) instead of restarting at
   * minBackoffMs. Default false (every send starts at minBackoffMs).
   */
  keepBackoffAcrossSends?: boolean;
}

export interface RetryObserver {
  /** Called before each sleep, with the answer that caused it. */
  onRetry?(result: TransportResult, attempt: number, delayMs: number): void;
}

/**
 * Wraps a transport: retries `retryable` answers with exponential backoff (×2, jitter, cap), honours
 * the receiver's Retry-After, and never sleeps past the caller's deadline (it answers `retryable`
 * with `retryInMs` instead, so the caller can schedule the next try itself). With
 * `keepBackoffAcrossSends`, the backoff carries over to the next send until a request succeeds.
 */
export class RetryingTransport implements Transport {
  /** The backoff the next retry starts from, kept across sends (keepBackoffAcrossSends) until a success. */
  private carriedBackoffMs: number;

  constructor(
    private readonly inner: Transport,
    private readonly policy: RetryPolicy,
    private readonly observer: RetryObserver = {},
    private readonly random: () => number = Math.random,
  ) {
    this.carriedBackoffMs = policy.minBackoffMs;
  }

  /** The backoff (before jitter) the next retry would wait: minBackoffMs unless carried over from failed sends. */
  get nextBackoffMs(): number {
    return this.carriedBackoffMs;
  }

  async send(request: TransportRequest, options: SendOptions): Promise<TransportResult> {
    let backoff = this.policy.keepBackoffAcrossSends ? this.carriedBackoffMs : this.policy.minBackoffMs;
    let previous: TransportResult | undefined;
    for (let attempt = 1; ; attempt++) {
      const result = await this.inner.send(request, options);
      // The receiver accepts again: the next failure starts over from minBackoffMs.
      if (result.status === 'success') this.carriedBackoffMs = this.policy.minBackoffMs;
      // No attempt was made because the deadline came during the sleep: the receiver's last answer says more.
      if (previous && result.status === 'retryable' && result.error.code === 'PROM_RELAY_PUSH_DEADLINE_EXCEEDED') {
        return { ...previous, attempts: attempt - 1 };
      }
      previous = result;
      if (result.status !== 'retryable') return { ...result, attempts: attempt };
      if (result.error.code === 'PROM_RELAY_PUSH_ABORTED' || attempt >= this.policy.maxAttempts) {
        return { ...result, attempts: attempt };
      }
      const delay = result.retryInMs ?? this.jittered(backoff);
      const next = Math.min(Math.max(delay, backoff) * 2, this.policy.maxBackoffMs);
      // Kept for the next send even when this one ends here (the caller's wait until its next send stands
      // in for this sleep): the sequence goes on where it stopped instead of restarting at minBackoffMs.
      this.carriedBackoffMs = next;
      if (Date.now() + delay >= options.deadline) {
        return { ...result, attempts: attempt, retryInMs: delay };
      }
      this.observer.onRetry?.(result, attempt, delay);
      if (!(await sleep(delay, options.signal))) {
        return {
          ...result,
          attempts: attempt,
          error: new PushClientError('PROM_RELAY_PUSH_ABORTED', 'aborted while waiting to retry', { cause: result.error }),
        };
      }
      backoff = next;
    }
  }

  close(): void {
    this.inner.close?.();
  }

  private jittered(backoff: number): number {
    const spread = backoff * this.policy.jitter * (this.random() * 2 - 1);
    return Math.max(0, Math.min(this.policy.maxBackoffMs, Math.round(backoff + spread)));
  }
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
