import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveServerGroupCount, startPushgateway, type PushgatewayServer } from '@prom-relay/infra';

async function push(url: string, path: string, body: string, method = 'PUT'): Promise<number> {
  const response = await fetch(`${url}${path}`, { method, body, headers: { 'Content-Type': 'text/plain; version=0.0.4' } });
  await response.arrayBuffer();
  return response.status;
}

describe('startPushgateway', () => {
  let pgw: PushgatewayServer;
  beforeAll(async () => {
    pgw = await startPushgateway();
  }, 30_000);
  afterAll(async () => {
    await pgw?.stop();
  });

  it('accepts a push and exposes it with the grouping labels', async () => {
    expect(pgw.url).toBe(`http://127.0.0.1:${pgw.port}`);
    expect(await push(pgw.url, '/metrics/job/infra/instance/a', '# TYPE infra_pushed counter\ninfra_pushed 5\n')).toBe(200);
    const text = await pgw.metrics();
    expect(text).toMatch(/^infra_pushed\{instance="a",job="infra"\} 5$/m);
  });

  it('starts empty: the persistence file is its own, not the Debian default', async () => {
    const other = await startPushgateway();
    try {
      expect(other.dataDir).not.toBe(pgw.dataDir);
      expect(await other.metrics()).not.toContain('infra_pushed');
    } finally {
      await other.stop();
    }
  });

  it('restart() keeps the port and the pushed groups (persisted on shutdown)', async () => {
    expect(await push(pgw.url, '/metrics/job/durable', 'infra_durable_push 9\n')).toBe(200);
    const port = pgw.port;
    await pgw.restart();
    expect(pgw.port).toBe(port);
    expect(await pgw.metrics()).toMatch(/^infra_durable_push\{instance="",job="durable"\} 9$/m);
  }, 30_000);
});

describe('startPushgateway failures and clean-up', () => {
  let blocker: Server;
  let takenPort = 0;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    takenPort = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('names a taken port', async () => {
    await expect(startPushgateway({ port: takenPort })).rejects.toMatchObject({ code: 'PROM_RELAY_INFRA_PORT_TAKEN', message: expect.stringContaining(String(takenPort)) });
  });

  it('names a missing binary', async () => {
    await expect(startPushgateway({ binary: 'no-such-pushgateway' })).rejects.toMatchObject({ code: 'PROM_RELAY_INFRA_BINARY_MISSING', message: expect.stringContaining('scripts/setup.sh') });
  });

  it('stop() leaves no process and no folder', async () => {
    const before = liveServerGroupCount();
    const pgw = await startPushgateway();
    await pgw.stop();
    expect(liveServerGroupCount()).toBe(before);
    expect(existsSync(pgw.dataDir)).toBe(false);
    await expect(fetch(`${pgw.url}/-/ready`)).rejects.toThrow();
  });
});
