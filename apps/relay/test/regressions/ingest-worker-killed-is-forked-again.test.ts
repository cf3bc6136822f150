// An ingest worker that dies is forked again by the primary, counted (prom_relay_ingest_worker_restarts_total) and
// logged, while the other worker keeps taking pushes; /metrics then sums the new worker with the survivor.
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, expect, it } from 'vitest';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

let relay: RelayProcess | undefined;

afterAll(() => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
});

async function push(url: string, n: number): Promise<number> {
  // A fresh connection each time: the kernel hands it to whichever worker is alive.
  const res = await fetch(`${url}/metrics/job/fork-test/instance/h${n}`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain; version=0.0.4', connection: 'close' },
    body: `# TYPE e2e_rows_total counter\ne2e_rows_total ${n}\n`,
  });
  await res.arrayBuffer();
  return res.status;
}

it('forks a killed ingest worker again, counts and logs it, and the survivor keeps taking pushes', async () => {
  const topic = await createTestTopic({ prefix: 'fork', partitions: 1 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write',
    extra: { ingest: { workers: 2 } },
  });
  relay = await startRelayProcess(config, { role: 'ingest' });
  const started = () => relay!.logs.filter((l) => l.msg === 'ingest worker started');
  await eventually(async () => started().length, (n) => n === 2, 10_000);
  const victim = Number(started()[0]!.pid);
  expect(victim).toBeGreaterThan(0);

  process.kill(victim, 'SIGKILL');
  const exited = await relay.waitForLog((l) => l.msg === 'ingest worker exited; forking it again', 10_000);
  expect(exited).toMatchObject({ level: 50, signal: 'SIGKILL' });
  // Meanwhile the survivor answers every push.
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push(await push(relay.url, i));
  expect(statuses).toEqual(Array(10).fill(200));

  await eventually(async () => started().length, (n) => n === 3, 30_000);
  expect(Number(started()[2]!.pid)).not.toBe(victim);
  const metrics = await eventually(
    async () => (await fetch(`${relay!.url}/metrics`)).text(),
    (m) => /^prom_relay_ingest_workers 2$/m.test(m),
    10_000,
  );
  expect(metrics).toMatch(/^prom_relay_ingest_worker_restarts_total 1$/m);
  expect(await stopRelay(relay)).toBe(0);
}, 90_000);
