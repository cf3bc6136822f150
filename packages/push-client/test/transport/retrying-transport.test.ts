import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport } from '../../src/transport/http-transport.js';
import { RetryingTransport } from '../../src/transport/retrying-transport.js';
import type { RetryPolicy } from '../../src/transport/retrying-transport.js';
import { startTestReceiver } from '../../src/testing/index.js';
import type { TestReceiver } from '../../src/testing/index.js';

describe('RetryingTransport', () => {
  let receiver: TestReceiver;
  let http: HttpTransport;
  beforeAll(async () => {
    receiver = await startTestReceiver();
    http = new HttpTransport({ timeoutMs: 2000 });
  });
  afterEach(() => receiver.respond(() => undefined));
  afterAll(async () => {
    http.close();
    await receiver.close();
  });

  const policy = (p: Partial<RetryPolicy> = {}): RetryPolicy => ({ minBackoffMs: 10, maxBackoffMs: 80, jitter: 0, maxAttempts: Infinity, ...p });
  const send = (t: RetryingTransport, deadline = Infinity) =>
    t.send({ method: 'POST', url: new URL(receiver.url), headers: {}, body: 'x' }, { deadline });
  const failFirst = (n: number, status = 500, headers?: Record<string, string>) => {
    let seen = 0;
    receiver.respond(() => (seen++ < n ? { status, ...(headers ? { headers } : {}) } : { status: 204 }));
  };

  it('retries 5xx with backoff doubling up to the cap until delivered', async () => {
    failFirst(5);
    const delays: number[] = [];
    const t = new RetryingTransport(http, policy(), { onRetry: (_r, _a, d) => delays.push(d) });
    const result = await send(t);
    expect(result).toMatchObject({ status: 'success', attempts: 6 });
    expect(delays).toEqual([10, 20, 40, 80, 80]);
  });

  it('spreads backoff with jitter inside ±jitter', async () => {
    failFirst(2);
    const delays: number[] = [];
    const randoms = [0, 1];
    const t = new RetryingTransport(http, policy({ minBackoffMs: 40, maxBackoffMs: 1000, jitter: 0.5 }), { onRetry: (_r, _a, d) => delays.push(d) }, () => randoms.shift()!);
    await send(t);
    expect(delays).toEqual([20, 120]);
  });

  it('stops after maxAttempts and answers the last retryable result', async () => {
    failFirst(10, 502);
    const result = await send(new RetryingTransport(http, policy({ maxAttempts: 3 })));
    expect(result).toMatchObject({ status: 'retryable', statusCode: 502, attempts: 3 });
  });

  it('never retries a failure', async () => {
    failFirst(10, 400);
    const before = receiver.requests.length;
    const result = await send(new RetryingTransport(http, policy()));
    expect(result).toMatchObject({ status: 'failure', statusCode: 400, attempts: 1 });
    expect(receiver.requests.length - before).toBe(1);
  });

  it('honours Retry-After over its own backoff', async () => {
    failFirst(1, 429, { 'Retry-After': '1' });
    const delays: number[] = [];
    const started = Date.now();
    const result = await send(new RetryingTransport(http, policy(), { onRetry: (_r, _a, d) => delays.push(d) }));
    expect(result.status).toBe('success');
    expect(delays).toEqual([1000]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('does not sleep past the deadline: answers retryable with retryInMs instead', async () => {
    failFirst(10, 503, { 'Retry-After': '30' });
    const started = Date.now();
    const result = await send(new RetryingTransport(http, policy()), Date.now() + 2000);
    expect(result).toMatchObject({ status: 'retryable', attempts: 1, retryInMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
