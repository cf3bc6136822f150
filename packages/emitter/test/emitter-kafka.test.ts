// The emitter against the real shared test broker: nothing dropped, messages decode with the documented headers and keys.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseExposition } from '@prom-relay/codec';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createEmitter, parseMessageHeaders } from '@prom-relay/emitter';
import { readMessages } from './kafka-read.js';

function jobRegistry(rows: number): { registry: Registry; counter: Counter } {
  const registry = new Registry();
  const counter = new Counter({ name: 'rows_written_total', help: 'Rows.', labelNames: ['table'], registers: [registry] });
  counter.inc({ table: 'users' }, rows);
  new Gauge({ name: 'queue_depth', help: 'Depth.', registers: [registry] }).set(7);
  return { registry, counter };
}

describe('emitter under a live broker', () => {
  it('delivers every push and emit, in order, with the documented key and headers', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'emitter', partitions: 3 });
    const emitter = createEmitter({ brokers, topic });
    const errors: unknown[] = [];
    emitter.on('error', (e) => errors.push(e));
    const { registry, counter } = jobRegistry(10);

    const expectedBodies: string[] = [];
    for (let i = 0; i < 20; i++) {
      counter.inc({ table: 'users' });
      expectedBodies.push(await registry.metrics());
      await emitter.push(registry, { job: 'nightly-export', groupings: { instance: `host-${i % 4}`, region: 'eu' } });
    }
    emitter.emit([{ name: 'rows_deleted_total', type: 'counter', value: 3 }], { job: 'nightly-export', groupings: { region: 'eu' }, temporality: 'delta' });

    expect(await emitter.flush(15_000)).toBe(true);
    expect(emitter.stats()).toMatchObject({ sent: 21, dropped: 0, queued: 0, sequence: 21 });
    const closed = await emitter.close(5000);
    expect(closed).toEqual({ flushed: true, dropped: 0 });
    expect(errors).toEqual([]);

    const messages = await readMessages(brokers, topic, 21);
    expect(messages).toHaveLength(21);
    // one key for every instance: one partition owns the job's series
    expect(new Set(messages.map((m) => m.key))).toEqual(new Set(['job=nightly-export,region=eu']));
    expect(new Set(messages.map((m) => m.partition)).size).toBe(1);
    const metas = messages.map((m) => parseMessageHeaders(m.headers));
    expect(metas.map((m) => m.sequence)).toEqual(Array.from({ length: 21 }, (_, i) => i));
    expect(new Set(metas.map((m) => m.producerId))).toEqual(new Set([emitter.producerId]));
    expect(emitter.producerId).toMatch(/^[0-9a-f-]{36}$/);
    for (let i = 0; i < 20; i++) {
      expect(metas[i]).toMatchObject({ contentType: 'text/plain; version=0.0.4', job: 'nightly-export', grouping: { instance: `host-${i % 4}`, region: 'eu' } });
      expect(messages[i]!.value.toString()).toBe(expectedBodies[i]);
      const rows = parseExposition(messages[i]!.value.toString()).find((f) => f.name === 'rows_written_total');
      expect(rows?.type).toBe('counter');
      expect(rows?.samples[0]?.value).toBe(11 + i);
    }
    expect(metas[20]).toMatchObject({ contentType: 'application/x-ndjson', temporality: 'delta', grouping: { region: 'eu' } });
    expect(JSON.parse(messages[20]!.value.toString())).toEqual({ name: 'rows_deleted_total', type: 'counter', value: 3 });
  }, 60_000);

  it('drops nothing when the queue holds more than one produce request can carry', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'emitter-bulk', partitions: 2 });
    const emitter = createEmitter({ brokers, topic, maxQueue: 1000 });
    const registry = new Registry();
    const g = new Gauge({ name: 'bulk_value', help: 'x'.repeat(100), labelNames: ['series'], registers: [registry] });
    for (let i = 0; i < 100; i++) g.set({ series: `series-number-${i}` }, i);
    const size = (await registry.metrics()).length;
    // 400 snapshots of ~5 KB: about 2 MB queued at once, over the broker's 1 MB per request
    for (let i = 0; i < 400; i++) await emitter.push(registry, { job: 'bulk', groupings: { instance: `i-${i % 7}` } });
    expect(size * 400).toBeGreaterThan(1_500_000);
    expect(await emitter.flush(30_000)).toBe(true);
    await emitter.close(5000);
    expect(emitter.stats()).toMatchObject({ sent: 400, dropped: 0 });
    const messages = await readMessages(brokers, topic, 400);
    expect(messages.map((m) => parseMessageHeaders(m.headers).sequence)).toEqual(Array.from({ length: 400 }, (_, i) => i));
  }, 60_000);

  it('a message the broker refuses as too large is dropped and counted; the others still arrive', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'emitter-toolarge', config: { 'max.message.bytes': '20000' } });
    const emitter = createEmitter({ brokers, topic });
    const codes: string[] = [];
    emitter.on('error', (e) => codes.push(e.code));
    const small = jobRegistry(1).registry;
    const big = new Registry();
    new Gauge({ name: 'big_value', help: 'h'.repeat(50_000), registers: [big] }).set(1);
    await emitter.push(small, { job: 'a' });
    await emitter.push(big, { job: 'a' });
    await emitter.push(small, { job: 'a' });
    expect(await emitter.flush(30_000)).toBe(true);
    await emitter.close(5000);
    expect(emitter.stats()).toMatchObject({ sent: 2, dropped: 1 });
    expect(codes).toContain('PROM_RELAY_EMITTER_SEND');
    const messages = await readMessages(brokers, topic, 2);
    expect(messages.map((m) => parseMessageHeaders(m.headers).sequence)).toEqual([0, 2]);
  }, 60_000);

  it('start() pushes on an interval and once more on close()', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'emitter-interval' });
    const emitter = createEmitter({ brokers, topic });
    const { registry, counter } = jobRegistry(1);
    emitter.start({ intervalMs: 200, registry, job: 'stream', groupings: { instance: 'a' } });
    await new Promise((r) => setTimeout(r, 700));
    counter.inc({ table: 'users' }, 100);
    await emitter.close(10_000);
    const { sent, dropped } = emitter.stats();
    expect(sent).toBeGreaterThanOrEqual(3);
    expect(dropped).toBe(0);
    const messages = await readMessages(brokers, topic, sent);
    const last = parseExposition(messages[messages.length - 1]!.value.toString()).find((f) => f.name === 'rows_written_total');
    // the final push carries the value set after the last interval push
    expect(last?.samples[0]?.value).toBe(101);
  }, 60_000);

  it('a job process with installExitHooks() delivers its push when SIGTERM arrives', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'emitter-sigterm' });
    const script = fileURLToPath(new URL('./fixtures/sigterm-job.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', script, brokers.join(','), topic], { stdio: 'pipe' });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('pushed')) child.kill('SIGTERM');
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    // the hook re-raises SIGTERM after flushing, so the process ends as SIGTERM would have ended it
    expect([code, signal]).toEqual([null, 'SIGTERM']);
    const [message] = await readMessages(brokers, topic, 1);
    expect(parseMessageHeaders(message!.headers)).toMatchObject({ job: 'sigterm-job', sequence: 0 });
  }, 60_000);

  it('a job process that just ends delivers its push and exits by itself (the idle connection closes)', async () => {
    const brokers = testKafkaBrokers();
    const topic = await createTestTopic({ prefix: 'emitter-exit' });
    const script = fileURLToPath(new URL('./fixtures/sigterm-job.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', script, brokers.join(','), topic, 'end'], { stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const [message] = await readMessages(brokers, topic, 1);
    expect(parseMessageHeaders(message!.headers)).toMatchObject({ job: 'sigterm-job', sequence: 0 });
  }, 60_000);
});
