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

  it('keepBackoffAcrossSends: the next send goes on from the last backoff until a success resets it', async () => {
    receiver.respond(() => ({ status: 500 }));
    const delays: number[] = [];
    const t = new RetryingTransport(http, policy({ maxAttempts: 3, keepBackoffAcrossSends: true }), { onRetry: (_r, _a, d) => delays.push(d) });
    expect(await send(t)).toMatchObject({ status: 'retryable', attempts: 3 });
    expect(delays).toEqual([10, 20]);
    expect(t.nextBackoffMs).toBe(40);
    await send(t);
    expect(delays).toEqual([10, 20, 40, 80]);
    failFirst(0);
    expect(await send(t)).toMatchObject({ status: 'success', attempts: 1 });
    expect(t.nextBackoffMs).toBe(10);
    receiver.respond(() => ({ status: 500 }));
    await send(t);
    expect(delays).toEqual([10, 20, 40, 80, 10, 20]);
  });

  it('without keepBackoffAcrossSends every send starts at minBackoffMs', async () => {
    receiver.respond(() => ({ status: 500 }));
    const delays: number[] = [];
    const t = new RetryingTransport(http, policy({ maxAttempts: 3 }), { onRetry: (_r, _a, d) => delays.push(d) });
    await send(t);
    await send(t);
    expect(delays).toEqual([10, 20, 10, 20]);
  });

  it('a send cut short by its deadline passes the backoff it would have waited on to the next send', async () => {
    receiver.respond(() => ({ status: 500 }));
    const delays: number[] = [];
    const t = new RetryingTransport(http, policy({ minBackoffMs: 20, maxBackoffMs: 10_000, keepBackoffAcrossSends: true }), {
      onRetry: (_r, _a, d) => delays.push(d),
    });
    // 20 + 40 + 80 + 160 + 320 ms fit in one second, the 640 ms wait does not: retryable with retryInMs 640
    expect(await send(t, Date.now() + 1000)).toMatchObject({ status: 'retryable', retryInMs: 640 });
    expect(delays).toEqual([20, 40, 80, 160, 320]);
    expect(t.nextBackoffMs).toBe(1280);
  });

  it('does not sleep past the deadline: answers retryable with retryInMs instead', async () => {
    failFirst(10, 503, { 'Retry-After': '30' });
    const started = Date.now();
    const result = await send(new RetryingTransport(http, policy()), Date.now() + 2000);
    expect(result).toMatchObject({ status: 'retryable', attempts: 1, retryInMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
