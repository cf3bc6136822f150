import { Registry, Counter, Gauge, openMetricsContentType } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPushgateway } from '@prom-relay/infra';
import type { PushgatewayServer } from '@prom-relay/infra';
import { Pushgateway, PushClientError, PushgatewayClient, TEXT_FORMAT_CONTENT_TYPE } from '../../../src/index.js';
import { startTestReceiver } from '../../../src/testing/index.js';
import type { TestReceiver } from '../../../src/testing/index.js';

const FAST_RETRY = { minBackoffMs: 1, maxBackoffMs: 10 };

/** The gateway applies a DELETE after answering 202: poll until the check passes. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return true;
}
const quiet = { warn: () => undefined };

interface ApiGroup {
  labels: Record<string, string>;
  [metric: string]: unknown;
}

describe('PushgatewayClient against a real Pushgateway', () => {
  let pgw: PushgatewayServer;
  beforeAll(async () => {
    pgw = await startPushgateway();
  }, 30_000);
  afterAll(() => pgw?.stop());

  const groups = async (): Promise<ApiGroup[]> => {
    const res = await fetch(`${pgw.url}/api/v1/metrics`);
    const body = (await res.json()) as { data: ApiGroup[] };
    return body.data;
  };
  const registryWith = (rows: number, depth?: number): Registry => {
    const registry = new Registry();
    new Counter({ name: 'rows_written_total', help: 'rows', labelNames: ['table'], registers: [registry] }).inc({ table: 'users' }, rows);
    if (depth !== undefined) new Gauge({ name: 'queue_depth', help: 'depth', registers: [registry] }).set(depth);
    return registry;
  };

  it('push (PUT) replaces the group; read back from /metrics', async () => {
    const client = new Pushgateway(pgw.url, 'nightly', { retry: FAST_RETRY, logger: quiet }).grouping('instance', 'host-1');
    const first = await client.collector(registryWith(120, 7)).push();
    expect(first).toMatchObject({ status: 'success' });
    let text = await pgw.metrics();
    expect(text).toContain('rows_written_total{instance="host-1",job="nightly",table="users"} 120');
    expect(text).toContain('queue_depth{instance="host-1",job="nightly"} 7');

    // A second PUT without queue_depth removes it: PUT replaces the whole group.
    const again = await new Pushgateway(pgw.url, 'nightly', { logger: quiet }).grouping('instance', 'host-1').collector(registryWith(130)).push();
    expect(again.status).toBe('success');
    text = await pgw.metrics();
    expect(text).toContain('rows_written_total{instance="host-1",job="nightly",table="users"} 130');
    expect(text).not.toMatch(/queue_depth\{instance="host-1",job="nightly"\}/);
    client.close();
  });

  it('add (POST) replaces only same-named metrics; delete removes the group', async () => {
    const base = () => new Pushgateway(pgw.url, 'adder', { logger: quiet }).grouping('instance', 'h2');
    expect((await base().collector(registryWith(1, 5)).push()).status).toBe('success');
    const registry = new Registry();
    new Counter({ name: 'rows_written_total', help: 'rows', labelNames: ['table'], registers: [registry] }).inc({ table: 'users' }, 9);
    expect((await base().collector(registry).add()).status).toBe('success');
    const text = await pgw.metrics();
    expect(text).toContain('rows_written_total{instance="h2",job="adder",table="users"} 9');
    expect(text).toContain('queue_depth{instance="h2",job="adder"} 5');

    const deleted = await base().delete();
    expect(deleted).toMatchObject({ status: 'success', statusCode: 202 });
    expect(await eventually(async () => !(await pgw.metrics()).includes('job="adder"'))).toBe(true);
  });

  it('sends grouping values with a slash and empty values so the gateway reads them back exactly', async () => {
    const client = new PushgatewayClient(pgw.url, 'paths/job', { logger: quiet })
      .grouping('instance', 'h3')
      .grouping('path', '/var/lib/data')
      .grouping('empty', '');
    const result = await client.collector(registryWith(3)).push();
    expect(result.status).toBe('success');
    const group = (await groups()).find((g) => g.labels['job'] === 'paths/job');
    expect(group?.labels).toMatchObject({ job: 'paths/job', instance: 'h3', path: '/var/lib/data' });
    expect(group?.labels['empty'] ?? '').toBe('');
    const text = await pgw.metrics();
    expect(text).toContain('rows_written_total{empty="",instance="h3",job="paths/job",path="/var/lib/data",table="users"} 3');

    expect((await client.delete()).status).toBe('success');
    expect(await eventually(async () => !(await groups()).some((g) => g.labels['job'] === 'paths/job'))).toBe(true);
  });

  it('answers failure (not retried) when the gateway refuses the push', async () => {
    const asCounter = new Registry();
    new Counter({ name: 'shared_metric_total', help: 'c', registers: [asCounter] }).inc();
    expect((await new Pushgateway(pgw.url, 'typed', { logger: quiet }).grouping('instance', 'a').collector(asCounter).push()).status).toBe('success');
    // The same name as a gauge in another group is inconsistent with what the gateway holds: it answers 400.
    const asGauge = new Registry();
    new Gauge({ name: 'shared_metric_total', help: 'c', registers: [asGauge] }).set(1);
    const result = await new Pushgateway(pgw.url, 'typed', { logger: quiet, retry: FAST_RETRY }).grouping('instance', 'b').collector(asGauge).push();
    expect(result.status).toBe('failure');
    expect(result.attempts).toBe(1);
    expect(result.statusCode).toBe(400);
  });
});

describe('PushgatewayClient as a receiver sees it', () => {
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startTestReceiver();
  });
  afterEach(() => {
    receiver.respond(() => undefined);
    receiver.requests.length = 0;
  });
  afterAll(() => receiver.close());

  const families = [{ name: 'up', type: 'gauge' as const, samples: [{ name: 'up', labels: {}, value: 1 }] }];

  it('sends text format with its content type, to the base path of the URL', async () => {
    const result = await new Pushgateway(`${receiver.url}/prefix/`, 'j', { logger: quiet }).grouping('instance', 'i').collector(families).push();
    expect(result.status).toBe('success');
    const req = receiver.requests[0]!;
    expect(req.method).toBe('PUT');
    expect(req.url).toBe('/prefix/metrics/job/j/instance/i');
    expect(req.headers['content-type']).toBe(TEXT_FORMAT_CONTENT_TYPE);
    expect(TEXT_FORMAT_CONTENT_TYPE).toBe('text/plain; version=0.0.4');
    expect(req.body.toString()).toMatch(/^# TYPE up gauge\nup 1\n/m);
  });

  it('sends basic auth and bearer tokens', async () => {
    await new Pushgateway(receiver.url, 'j', { logger: quiet }).basicAuth('APPID', 'TOKEN').grouping('instance', 'i').collector(families).push();
    expect(receiver.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('APPID:TOKEN').toString('base64')}`);
    await new Pushgateway(receiver.url, 'j', { logger: quiet }).bearerToken('t0k').grouping('instance', 'i').delete();
    expect(receiver.requests[1]!.headers.authorization).toBe('Bearer t0k');
    expect(receiver.requests[1]!.method).toBe('DELETE');
    expect(receiver.requests[1]!.body.length).toBe(0);
  });

  it('retries 5xx, and gives up at its deadline', async () => {
    let fails = 2;
    receiver.respond(() => (fails-- > 0 ? { status: 503 } : { status: 200 }));
    const ok = await new Pushgateway(receiver.url, 'j', { logger: quiet, retry: FAST_RETRY }).grouping('instance', 'i').collector(families).push();
    expect(ok).toMatchObject({ status: 'success', attempts: 3 });

    receiver.respond(() => ({ status: 200, delayMs: 2000 }));
    const started = Date.now();
    const late = await new Pushgateway(receiver.url, 'j', { logger: quiet, timeoutMs: 200 }).grouping('instance', 'i').collector(families).push();
    expect(late.status).toBe('retryable');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('warns once, through the logger, when no instance-like grouping label is set', async () => {
    const warn = vi.fn();
    const client = new Pushgateway(receiver.url, 'lonely-job', { logger: { warn } }).grouping('region', 'eu').collector(families);
    await client.push();
    await client.add();
    await new Pushgateway(receiver.url, 'lonely-job', { logger: { warn } }).collector(families).push();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatchObject({ code: 'PROM_RELAY_PUSH_NO_INSTANCE', job: 'lonely-job' });
    expect(warn.mock.calls[0]![1]).toMatch(/overwrite|replace/);
    const withInstance = vi.fn();
    await new Pushgateway(receiver.url, 'other-job', { logger: { warn: withInstance } }).grouping('pod', 'p-1').collector(families).push();
    expect(withInstance).not.toHaveBeenCalled();
  });

  it('gathers every collector, prom-client registries included', async () => {
    const a = new Registry();
    new Gauge({ name: 'a_gauge', help: 'a', registers: [a] }).set(1);
    await new Pushgateway(receiver.url, 'j', { logger: quiet }).grouping('instance', 'i').collector(a).collector(families).push();
    const body = receiver.requests[0]!.body.toString();
    expect(body).toContain('a_gauge 1');
    expect(body).toContain('up 1');
  });

  it('validates at once and names the problem', () => {
    const expectCode = (fn: () => unknown, message: RegExp) => {
      try {
        fn();
        throw new Error('no error');
      } catch (err) {
        expect(err).toBeInstanceOf(PushClientError);
        expect((err as PushClientError).code).toBe('PROM_RELAY_PUSH_INVALID_OPTIONS');
        expect((err as PushClientError).message).toMatch(message);
      }
    };
    expectCode(() => new Pushgateway('localhost:9091', 'j'), /option url/);
    expectCode(() => new Pushgateway(receiver.url, ''), /option job/);
    expectCode(() => new Pushgateway(receiver.url, 'j', { timeoutMs: -1 }), /option timeoutMs/);
    expectCode(() => new Pushgateway(receiver.url, 'j').grouping('job', 'x'), /"job"/);
    expectCode(() => new Pushgateway(receiver.url, 'j').grouping('bad-name', 'x'), /bad-name/);
    expectCode(() => new Pushgateway(receiver.url, 'j').header('Content-Type', 'x'), /Content-Type/);
    const om = new Registry<typeof openMetricsContentType>();
    om.setContentType(openMetricsContentType);
    expectCode(() => new Pushgateway(receiver.url, 'j').collector(om), /openmetrics/);
  });
});
