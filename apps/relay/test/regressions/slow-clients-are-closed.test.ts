// Issue 10 item 5: 200 slowloris connections stayed open for 60 s and a body trickled at 1 byte/s was accepted after
// a minute. A running relay (child process, real Kafka and Prometheus) now closes clients that send their headers or
// their body too slowly within server.headers_timeout / server.request_timeout, refuses connections past
// server.max_connections, counts and logs both (rate-limited), and meanwhile /healthz answers and a normal push lands.
import { connect, type Socket } from 'node:net';
import { createTestTopic } from '@prom-relay/infra/testing';
import { beforeAll, expect, it } from 'vitest';
import { relayConfigSchema } from '../../src/config/index.js';
import { eventually, relayTestEnvironment, sleep, stopRelay, type RelayProcess } from '../e2e/harness.js';

const HEADERS_TIMEOUT = 2000;
const REQUEST_TIMEOUT = 4000;
const MAX_CONNECTIONS = 230;
/** Node checks the timeouts on a timer (the relay sets it to a fifth of the shorter timeout) plus scheduling slack. */
const SLACK = 1500;

const env = relayTestEnvironment({ producer: false });
let relay: RelayProcess;
let port: number;

beforeAll(async () => {
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 1 });
  const config = env.relayConfig({
    topic,
    extra: {
      server: { host: '127.0.0.1', port: 0, headers_timeout: '2s', request_timeout: '4s', keep_alive_timeout: '3s', max_connections: MAX_CONNECTIONS },
    },
  });
  relay = await env.startRelay(config);
  port = Number(new URL(relay.url).port);
}, 90_000);

interface RawClient {
  socket: Socket;
  openedAt: number;
  closedAt?: number;
  received: string;
  closed: Promise<void>;
}

function rawClient(onConnect: (socket: Socket) => void): RawClient {
  const socket = connect(port, '127.0.0.1');
  const client: RawClient = { socket, openedAt: Date.now(), received: '', closed: Promise.resolve() };
  client.closed = new Promise((resolve) => {
    socket.on('close', () => {
      client.closedAt = Date.now();
      resolve();
    });
  });
  socket.on('error', () => {});
  socket.on('data', (d) => (client.received += d.toString('latin1')));
  socket.on('connect', () => onConnect(socket));
  return client;
}

/** Sends `lines` one at a time every `everyMs` until the socket closes (never finishing the request). */
function trickle(socket: Socket, first: string, next: (i: number) => string, everyMs: number): void {
  socket.write(first);
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) clearInterval(timer);
    else socket.write(next(i++));
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

it('closes 200 slowloris clients and a trickled body within their timeouts, while /healthz answers and a push lands', async () => {
  const slowHeaders = Array.from({ length: 200 }, (_, n) =>
    rawClient((s) => trickle(s, `PUT /metrics/job/slowloris/instance/i${n} HTTP/1.1\r\nHost: relay\r\n`, (i) => `X-Slow-${i}: ${'y'.repeat(8)}\r\n`, 300)),
  );
  const body = 'slow_total 1\n'.repeat(20);
  const slowBody = rawClient((s) =>
    trickle(
      s,
      `PUT /metrics/job/trickle HTTP/1.1\r\nHost: relay\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: ${body.length}\r\n\r\n`,
      (i) => body[i] ?? '',
      1000, // 1 byte per second
    ),
  );

  // While they hold their connections: /healthz keeps answering, and a normal push is taken.
  const health: { status: number; ms: number }[] = [];
  const all = Promise.all([...slowHeaders, slowBody].map((c) => c.closed));
  let attacking = true;
  void all.then(() => (attacking = false));
  const probing = (async () => {
    while (attacking) {
      const started = Date.now();
      const res = await fetch(`${relay.url}/healthz`);
      health.push({ status: res.status, ms: Date.now() - started });
      await sleep(200);
    }
  })();
  await sleep(1000);
  const push = await fetch(`${relay.url}/metrics/job/during-attack/instance/a`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain; version=0.0.4' },
    body: '# TYPE attack_survived_total counter\nattack_survived_total 7\n',
  });
  expect(push.status).toBe(200);
  await Promise.race([all, sleep(REQUEST_TIMEOUT + 4 * SLACK)]);
  attacking = false;
  await probing;

  for (const c of slowHeaders) {
    expect(c.closedAt, 'slowloris connection still open').toBeDefined();
    const lived = c.closedAt! - c.openedAt;
    expect(lived).toBeGreaterThanOrEqual(HEADERS_TIMEOUT - 100);
    expect(lived).toBeLessThan(HEADERS_TIMEOUT + SLACK);
    expect(c.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  }
  expect(slowBody.closedAt, 'trickling connection still open').toBeDefined();
  const bodyLived = slowBody.closedAt! - slowBody.openedAt;
  expect(bodyLived).toBeGreaterThanOrEqual(REQUEST_TIMEOUT - 100);
  expect(bodyLived).toBeLessThan(REQUEST_TIMEOUT + SLACK);
  expect(slowBody.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);

  expect(health.length).toBeGreaterThan(5);
  expect(health.every((h) => h.status === 200)).toBe(true);
  expect(Math.max(...health.map((h) => h.ms))).toBeLessThan(1000);

  // Counted, by kind; logged, but not 200 times.
  expect(await metric('prom_relay_http_timeouts_total{kind="headers"}')).toBe(200);
  expect(await metric('prom_relay_http_timeouts_total{kind="request"}')).toBe(1);
  const slowLines = relay.logs.filter((l) => String(l.msg).startsWith('HTTP client too slow'));
  expect(slowLines.length).toBeGreaterThan(0);
  expect(slowLines.length).toBeLessThanOrEqual(10);
  expect(slowLines.some((l) => typeof l.suppressed === 'number' || l.kind === 'request')).toBe(true);

  // The push made it through Kafka to Prometheus; the slow ones never did.
  const total = async () => (await env.prom.query('attack_survived_total{job="during-attack"}'))[0]?.value;
  expect(await eventually(total, (v) => v === 7, 20_000)).toBe(7);
  expect(await env.prom.query('slow_total')).toEqual([]);
}, 60_000);

it('refuses connections past server.max_connections at once, counts them, and serves again when they are gone', async () => {
  const refusedBefore = await metric('prom_relay_http_connections_refused_total');
  const extra = 15;
  const silent = Array.from({ length: MAX_CONNECTIONS + extra }, () => rawClient(() => {}));
  await sleep(800);
  // The ones past the cap are closed on arrival, without a byte; the others wait for their headers timeout.
  const early = silent.filter((c) => c.closedAt !== undefined);
  expect(early.length).toBeGreaterThanOrEqual(extra);
  for (const c of early) {
    expect(c.closedAt! - c.openedAt).toBeLessThan(800);
    expect(c.received).toBe('');
  }
  await Promise.race([Promise.all(silent.map((c) => c.closed)), sleep(HEADERS_TIMEOUT + 2 * SLACK)]);
  expect(silent.every((c) => c.closedAt !== undefined)).toBe(true);

  expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
  expect((await metric('prom_relay_http_connections_refused_total')) - refusedBefore).toBe(early.length);
  expect(relay.logs.some((l) => String(l.msg).startsWith('HTTP connection refused'))).toBe(true);
  expect(await stopRelay(relay)).toBe(0);
}, 60_000);

it('config: a headers timeout longer than the request timeout is refused with its key path', () => {
  const r = relayConfigSchema.safeParse({ server: { headers_timeout: '40s', request_timeout: '30s' } });
  expect(r.success).toBe(false);
  expect(r.error!.issues.map((i) => i.path.join('.'))).toContain('server.headers_timeout');
  const defaults = relayConfigSchema.parse({}).server;
  expect(defaults).toMatchObject({ headers_timeout: 10_000, request_timeout: 30_000, keep_alive_timeout: 60_000, max_connections: 1000 });
});
