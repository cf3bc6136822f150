import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { EmitterError, createEmitter } from '@prom-relay/emitter';
import type { DropEvent, Emitter, EmitterLogEntry } from '@prom-relay/emitter';

/** A port nothing listens on: connections are refused at once, as with a dead broker. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function registryWith(value: number): Registry {
  const registry = new Registry();
  new Counter({ name: 'rows_total', help: 'rows', registers: [registry] }).inc(value);
  return registry;
}

const open: Emitter[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close(100)));
});

describe('createEmitter options', () => {
  it('names the bad field', () => {
    expect(() => createEmitter({ brokers: [] })).toThrow(/brokers/);
    expect(() => createEmitter({ brokers: ['h:1'], maxQueue: 0 })).toThrow(/maxQueue/);
    expect(() => createEmitter({ brokers: ['h:1'], dropPolicy: 'oldest' as never })).toThrow(/dropPolicy/);
    expect(() => createEmitter({ brokers: ['h:1'], topic: 'bad topic' })).toThrow(/topic/);
    expect(() => createEmitter({ brokers: ['h:1'], holdMs: -1 })).toThrow(/holdMs/);
    expect(() => createEmitter({ brokers: ['h:1'], sendTimeoutMs: 0 })).toThrow(/sendTimeoutMs/);
    // kafkajs retries and request timeouts would outlive close(): refused, naming what to use instead
    expect(() => createEmitter({ brokers: ['h:1'], kafka: { retry: { retries: 5 } } as never })).toThrow(/kafka\.retry is not supported: .*sendTimeoutMs/);
    expect(() => createEmitter({ brokers: ['h:1'], kafka: { requestTimeout: 1000 } as never })).toThrow(/kafka\.requestTimeout is not supported: use sendTimeoutMs/);
    expect(() => createEmitter({ brokers: ['h:1'], kafka: { enforceRequestTimeout: false } as never })).toThrow(/kafka\.enforceRequestTimeout is not supported: .*sendTimeoutMs/);
    try {
      createEmitter({ brokers: ['nope'] });
    } catch (err) {
      expect((err as EmitterError).code).toBe('PROM_RELAY_EMITTER_OPTIONS');
    }
  });
});

describe('emitter under a dead broker', () => {
  it('push() returns at once, errors arrive as events, close() gives up at its deadline and counts the drops', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const emitter = createEmitter({ brokers: [`127.0.0.1:${await closedPort()}`] });
    open.push(emitter);
    const errors: EmitterError[] = [];
    const drops: DropEvent[] = [];
    emitter.on('error', (e) => errors.push(e));
    emitter.on('drop', (d) => drops.push(d));
    const logs: EmitterLogEntry[] = [];
    emitter.on('log', (l) => logs.push(l));

    const t0 = performance.now();
    await emitter.push(registryWith(3), { job: 'j', groupings: { instance: 'a' } });
    emitter.emit([{ name: 'x_total', type: 'counter', value: 1 }], { job: 'j' });
    expect(performance.now() - t0).toBeLessThan(100);
    expect(emitter.stats()).toMatchObject({ queued: 2, sent: 0, sequence: 2 });

    const c0 = performance.now();
    const result = await emitter.close(600);
    expect(performance.now() - c0).toBeLessThan(3000);
    expect(result).toEqual({ flushed: false, dropped: 2 });
    expect(emitter.stats()).toMatchObject({ queued: 0, sent: 0, dropped: 2 });
    expect(drops).toContainEqual({ reason: 'close-deadline', count: 2 });
    expect(errors.some((e) => e.code === 'PROM_RELAY_EMITTER_CONNECT')).toBe(true);
    // kafkajs' own retry logging reaches 'log' listeners (and never the job's stdout)
    expect(logs.some((l) => l.level === 'error' && /ECONNREFUSED/.test(l.message) && l.namespace.length > 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('a full queue drops by its policy and counts it', async () => {
    const port = await closedPort();
    for (const dropPolicy of ['drop-oldest', 'drop-newest'] as const) {
      const emitter = createEmitter({ brokers: [`127.0.0.1:${port}`], maxQueue: 2, dropPolicy });
      open.push(emitter);
      const drops: DropEvent[] = [];
      emitter.on('drop', (d) => drops.push(d));
      for (let i = 0; i < 5; i++) emitter.emit([{ name: 'g', type: 'gauge', value: i }], { job: 'j' });
      // the first message may already be in flight; the waiting queue holds at most 2
      const { dropped, queued } = emitter.stats();
      expect(dropped + queued).toBe(5);
      expect(queued).toBeLessThanOrEqual(3);
      expect(drops.every((d) => d.reason === 'queue-full')).toBe(true);
      expect(drops.reduce((n, d) => n + d.count, 0)).toBe(dropped);
    }
  });

  it('bad input is an error event and a counted drop, never a throw', async () => {
    const emitter = createEmitter({ brokers: [`127.0.0.1:${await closedPort()}`] });
    open.push(emitter);
    const codes: string[] = [];
    emitter.on('error', (e) => codes.push(e.code));
    emitter.emit([{ name: 'bad name', value: 1 }], { job: 'j' });
    await emitter.push(registryWith(1), { job: '' });
    await emitter.push({ metrics: () => Promise.reject(new Error('collect failed')) }, { job: 'j' });
    await emitter.push(registryWith(1), undefined as never);
    expect(codes).toEqual(['PROM_RELAY_EMITTER_SAMPLE', 'PROM_RELAY_EMITTER_GROUPING', 'PROM_RELAY_EMITTER_SNAPSHOT', 'PROM_RELAY_EMITTER_GROUPING']);
    expect(emitter.stats()).toMatchObject({ dropped: 4, queued: 0, sequence: 0 });
  });

  it('without an error listener nothing is thrown into the job', async () => {
    const emitter = createEmitter({ brokers: [`127.0.0.1:${await closedPort()}`] });
    open.push(emitter);
    expect(() => emitter.emit([{ name: 'bad name', value: 1 }], { job: 'j' })).not.toThrow();
    await emitter.close(100);
    expect(() => emitter.emit([{ name: 'ok', value: 1 }], { job: 'j' })).not.toThrow();
    expect(emitter.stats()).toMatchObject({ dropped: 2, errors: 2 });
  });
});

describe('a short-lived job process under a dead broker', () => {
  const script = fileURLToPath(new URL('./fixtures/dead-broker-job.ts', import.meta.url));

  async function runJob(mode: string): Promise<{ code: number | null; ms: number; stdout: string; stderr: string }> {
    const port = await closedPort();
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', script, String(port), mode], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    return { code, ms: performance.now() - t0, stdout, stderr };
  }

  for (const mode of ['none', 'close', 'hooks']) {
    it(`finishes on its own (${mode === 'none' ? 'no close' : mode}), quietly, drops counted`, async () => {
      const { code, ms, stdout, stderr } = await runJob(mode);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).not.toMatch(/UNHANDLED/);
      const stats = JSON.parse(stdout.trim()) as { pushMs: number; sent: number; dropped: number; queued: number };
      expect(stats.pushMs).toBeLessThan(200);
      expect(stats.sent).toBe(0);
      // with close() or the exit hooks the two messages are given up and counted; without, the process ends after holdMs
      if (mode !== 'none') expect(stats).toMatchObject({ dropped: 2, queued: 0 });
      expect(ms).toBeLessThan(8000);
    }, 15_000);
  }
});
