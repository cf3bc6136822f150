// Guards the audit's "silence is a bug" gaps on the relay's HTTP side: the status page answered 401, a path that is no
// route 404 and a handler that threw 500, none of them counted (the 500 logged on every request, unbounded); a client
// that closed its connection mid-body was counted as a bad body (PROM_RELAY_INGEST_BODY, 400), a client error about
// the payload. Now: prom_relay_http_requests_refused_total{route,status}, a rate-limited line each, and the abort its
// own code, PROM_RELAY_INGEST_ABORTED (499, nginx's "client closed request"), in prom_relay_ingest_requests_total.
import { connect } from 'node:net';
import { createTestTopic } from '@prom-relay/infra/testing';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { relayConfigSchema } from '../../src/config/index.js';
import { RelayMetrics, serverConnectionOptions, startRelayServer } from '../../src/server/index.js';
import { eventually, startRelayProcess, stopRelay, testRelayConfig, type RelayProcess } from '../e2e/harness.js';
import { relayCounter } from './ingest-helpers.js';

const USER = 'team-a';
const PASSWORD = 'refusals-secret-4711';
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

let relay: RelayProcess | undefined;
afterAll(async () => {
  if (relay) await stopRelay(relay);
});

/** Sends a push's headers and part of its body on a raw connection, then closes it. */
function abortedPush(baseUrl: string): Promise<void> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        'PUT /metrics/job/aborted/instance/a HTTP/1.1\r\n' +
          `Host: ${hostname}:${port}\r\nAuthorization: ${BASIC}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 1000\r\n\r\n` +
          '# TYPE aborted_total counter\naborted_to',
        () => setTimeout(() => socket.destroy(), 200),
      );
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
}

it('counts and logs the status page 401, a 404 and a push aborted mid-body (not as a bad body)', async () => {
  const topic = await createTestTopic({ prefix: 'refusals', partitions: 1 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write',
    extra: { ingest: { workers: 1, username: USER, password: PASSWORD } },
  });
  relay = await startRelayProcess(config, { role: 'ingest' });

  expect((await fetch(`${relay.url}/`)).status).toBe(401);
  const wrong = `Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}`;
  expect((await fetch(`${relay.url}/api/v1/status`, { headers: { authorization: wrong } })).status).toBe(401);
  expect((await fetch(`${relay.url}/api/v1/status`, { headers: { authorization: BASIC } })).status).toBe(200);
  expect(await relayCounter(relay.url, 'prom_relay_http_requests_refused_total', { route: 'status', status: '401' })).toBe(2);
  const line = await relay.waitForLog((l) => l.msg === 'status page request refused');
  expect(line).toMatchObject({ level: 40, route: 'status', status: 401 });

  expect((await fetch(`${relay.url}/metric/job/typo`, { method: 'PUT', body: 'x 1\n' })).status).toBe(404);
  expect(await relayCounter(relay.url, 'prom_relay_http_requests_refused_total', { route: 'none', status: '404' })).toBe(1);
  expect(await relay.waitForLog((l) => l.msg === 'no route for the request')).toMatchObject({ level: 40, path: '/metric/job/typo' });

  await abortedPush(relay.url);
  const aborted = { api: 'pushgateway', code: 'PROM_RELAY_INGEST_ABORTED' };
  expect(await eventually(() => relayCounter(relay!.url, 'prom_relay_ingest_requests_total', aborted), (n) => n > 0, 20_000)).toBe(1);
  expect(await relayCounter(relay.url, 'prom_relay_ingest_requests_total', { api: 'pushgateway', code: 'PROM_RELAY_INGEST_BODY' })).toBe(0);
  expect(await relay.waitForLog((l) => l.code === 'PROM_RELAY_INGEST_ABORTED')).toMatchObject({ level: 'warn', status: 499, api: 'pushgateway' });

  // No credential in any line.
  expect(relay.output()).not.toContain(PASSWORD);
  expect(relay.output()).not.toContain(BASIC.slice(6));
  expect(await stopRelay(relay)).toBe(0);
  relay = undefined;
}, 120_000);

it('counts a handler that threw (500) by route, and logs it rate-limited', async () => {
  const metrics = new RelayMetrics(() => []);
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
  const server = await startRelayServer({
    host: '127.0.0.1',
    port: 0,
    registry: metrics.registry,
    readiness: () => ({ ready: true, checks: {} }),
    status: { snapshot: () => Promise.reject(new Error('snapshot broke')) },
    logger,
    ...serverConnectionOptions(relayConfigSchema.shape.server.parse({ host: '127.0.0.1', port: 0 }), metrics),
  });
  try {
    for (let i = 0; i < 12; i++) expect((await fetch(`${server.url}/api/v1/status`)).status).toBe(500);
    expect(await relayCounter(server.url, 'prom_relay_http_requests_refused_total', { route: 'status', status: '500' })).toBe(12);
    const failed = lines.filter((l) => l.msg === 'http handler failed');
    // At most 5 lines per route and status per 10 s: 12 lines only if the requests took over 20 s.
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(12);
    expect(failed[0]).toMatchObject({ level: 50, route: 'status', status: 500, err: { message: 'snapshot broke' } });
  } finally {
    await server.close();
  }
});
