import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpTransport } from '../../src/transport/http-transport.js';
import { PUSH_CLIENT_VERSION, USER_AGENT } from '../../src/version.js';
import { startTestReceiver } from '../../src/testing/index.js';
import type { TestReceiver } from '../../src/testing/index.js';
import pkg from '../../package.json' with { type: 'json' };

describe('HttpTransport', () => {
  let receiver: TestReceiver;
  const transports: HttpTransport[] = [];
  const transport = (opts: Partial<ConstructorParameters<typeof HttpTransport>[0]> = {}): HttpTransport => {
    const t = new HttpTransport({ timeoutMs: 2000, ...opts });
    transports.push(t);
    return t;
  };
  beforeAll(async () => {
    receiver = await startTestReceiver();
  });
  afterEach(() => {
    receiver.respond(() => undefined);
    for (const t of transports.splice(0)) t.close();
  });
  afterAll(() => receiver.close());

  const post = (t: HttpTransport, deadline = Infinity) =>
    t.send({ method: 'POST', url: new URL(`${receiver.url}/api/v1/prom/write`), headers: { 'X-Scope-OrgID': 'tenant-a' }, body: 'hello' }, { deadline });

  it('sends a versioned User-Agent, the body with its length, and the caller headers', async () => {
    const result = await post(transport());
    expect(result.status).toBe('success');
    const seen = receiver.requests.at(-1)!;
    expect(seen.url).toBe('/api/v1/prom/write');
    expect(seen.headers['user-agent']).toBe(USER_AGENT);
    expect(USER_AGENT).toContain(`/${pkg.version}`);
    expect(PUSH_CLIENT_VERSION).toBe(pkg.version);
    expect(seen.headers['x-scope-orgid']).toBe('tenant-a');
    expect(seen.headers['content-length']).toBe('5');
    expect(seen.body.toString()).toBe('hello');
  });

  it('classifies 5xx and 429 as retryable with Retry-After, other 4xx as failure', async () => {
    const t = transport();
    receiver.respond(() => ({ status: 503, headers: { 'Retry-After': '7' }, body: 'overloaded' }));
    const r503 = await post(t);
    expect(r503).toMatchObject({ status: 'retryable', statusCode: 503, retryInMs: 7000, body: 'overloaded' });
    expect(r503.status === 'retryable' && r503.error.code).toBe('PROM_RELAY_PUSH_RETRYABLE_STATUS');

    receiver.respond(() => ({ status: 429 }));
    expect(await post(t)).toMatchObject({ status: 'retryable', statusCode: 429 });

    receiver.respond(() => ({ status: 400, body: 'out of order sample\n' }));
    const r400 = await post(t);
    expect(r400).toMatchObject({ status: 'failure', statusCode: 400 });
    if (r400.status !== 'failure') throw new Error('expected failure');
    expect(r400.error.code).toBe('PROM_RELAY_PUSH_HTTP_STATUS');
    expect(r400.error.message).toContain('out of order sample');
    expect(r400.error.responseBody).toBe('out of order sample\n');
  });

  it('treats 429 as a failure when retryOn429 is off', async () => {
    receiver.respond(() => ({ status: 429 }));
    expect(await post(transport({ retryOn429: false }))).toMatchObject({ status: 'failure', statusCode: 429 });
  });

  it('ends an attempt at its timeout, and never runs past the caller deadline', async () => {
    receiver.respond(() => ({ status: 204, delayMs: 1500 }));
    let started = Date.now();
    const timedOut = await post(transport({ timeoutMs: 100 }));
    expect(timedOut.status).toBe('retryable');
    expect(timedOut.status === 'retryable' && timedOut.error.code).toBe('PROM_RELAY_PUSH_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1000);

    started = Date.now();
    const deadlined = await post(transport({ timeoutMs: 10_000 }), Date.now() + 150);
    expect(deadlined.status === 'retryable' && deadlined.error.code).toBe('PROM_RELAY_PUSH_DEADLINE_EXCEEDED');
    expect(Date.now() - started).toBeLessThan(1000);

    const passed = await post(transport(), Date.now() - 1);
    expect(passed.status === 'retryable' && passed.error.code).toBe('PROM_RELAY_PUSH_DEADLINE_EXCEEDED');
  });

  it('aborts on the caller signal', async () => {
    receiver.respond(() => ({ status: 204, delayMs: 1500 }));
    const controller = new AbortController();
    const pending = transport().send({ method: 'POST', url: new URL(receiver.url), headers: {}, body: 'x' }, { deadline: Infinity, signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    expect(result.status === 'retryable' && result.error.code).toBe('PROM_RELAY_PUSH_ABORTED');
  });

  it('reports a refused connection as a retryable network error', async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const result = await transport().send({ method: 'GET', url: new URL(`http://127.0.0.1:${port}/`), headers: {} }, { deadline: Infinity });
    expect(result.status === 'retryable' && result.error.code).toBe('PROM_RELAY_PUSH_NETWORK');
  });

  it('reads a response body only up to its cap', async () => {
    const big = 'e'.repeat(200_000);
    receiver.respond(() => ({ status: 400, body: big }));
    const result = await post(transport({ maxResponseBodyBytes: 1000 }));
    expect(result.status).toBe('failure');
    expect(result.body).toHaveLength(1000);
  });
});
