// Forked ingest workers run with a 4 MiB young generation (--max-semi-space-size=4) and two malloc arenas
// (MALLOC_ARENA_MAX=2): with V8's defaults each worker's RSS grew to 130-170 MiB under load (ingest README, Memory).
// An operator's own flag or variable wins. The flags are read from the workers' /proc entries (Linux).
import { readFileSync } from 'node:fs';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, expect, it } from 'vitest';
import { workerExecArgv } from '../../src/roles/ingest-cluster.js';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

let relay: RelayProcess | undefined;

afterAll(() => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
});

it('adds the young-generation cap to the primary flags unless the operator gave one', () => {
  expect(workerExecArgv(['--conditions=x'])).toEqual(['--conditions=x', '--max-semi-space-size=4']);
  expect(workerExecArgv(['--max-semi-space-size=16'])).toEqual(['--max-semi-space-size=16']);
  expect(workerExecArgv(['--max_semi_space_size=16'])).toEqual(['--max_semi_space_size=16']);
  expect(workerExecArgv([], '--max-old-space-size=200 --max-semi-space-size=8')).toEqual([]);
});

it('forks ingest workers with --max-semi-space-size=4 and MALLOC_ARENA_MAX=2', async () => {
  const topic = await createTestTopic({ prefix: 'young', partitions: 1 });
  const config = testRelayConfig({ topic, remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write', extra: { ingest: { workers: 2 } } });
  relay = await startRelayProcess(config, { role: 'ingest' });
  const started = () => relay!.logs.filter((l) => l.msg === 'ingest worker started');
  await eventually(async () => started().length, (n) => n === 2, 20_000);
  for (const line of started()) {
    const pid = Number(line.pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(argv).toContain('--max-semi-space-size=4');
    expect(env).toContain('MALLOC_ARENA_MAX=2');
  }
  // The primary itself runs as it was started: it only forks and answers for its workers.
  expect(readFileSync(`/proc/${relay.child.pid}/cmdline`, 'utf8').split('\0')).not.toContain('--max-semi-space-size=4');
  expect(await stopRelay(relay)).toBe(0);
}, 90_000);
