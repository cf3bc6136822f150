// Guards issue 12 item 1 (ending a job's totals): `DELETE /metrics/job/<job>` with no grouping labels ends every default
// output series of the job, counters included, on every partition its groups live on (here spread by a grouping
// label over 4 partitions), while another job's totals and a rule output across jobs stay. Real Kafka, the relay as a
// process, a real Prometheus. Before, such a delete only dropped gauges of one group and counter totals stayed forever.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildMessageKey, DEFAULT_PRODUCER_LABELS } from '@prom-relay/emitter';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { homePartition } from '../../src/repartition/index.js';
import { eventually, sleep, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

const PARTITIONS = 4;
const RELAY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
let prom: PrometheusServer;
let configFile: string;
let relay: RelayProcess | undefined;

beforeAll(async () => {
  prom = await startPrometheus();
  const topic = await createTestTopic({ prefix: 'metrics', partitions: PARTITIONS });
  const config = (configFile = testRelayConfig({
    topic,
    remoteWriteUrl: prom.remoteWriteUrl,
    extra: { aggregation: { series_ttl: '10m', rules: [{ match: 'etl_rows_total', by: ['table'], outputs: ['total'], keep_input: true }] } },
  }));
  relay = await startRelayProcess(config);
  await relay.waitForLog((l) => l.msg === 'partitions assigned', 30_000);
}, 120_000);

afterAll(async () => {
  if (relay) await stopRelay(relay);
  await prom?.stop();
});

async function push(job: string, shard: string, rows: number, depth: number): Promise<void> {
  const res = await fetch(`${relay!.url}/metrics/job/${job}/shard/${shard}`, {
    method: 'PUT',
    headers: { 'prom-relay-producer': randomUUID() },
    body: `# TYPE etl_rows_total counter\netl_rows_total{table="users"} ${rows}\n# TYPE etl_queue_depth gauge\netl_queue_depth ${depth}\n`,
  });
  expect(res.status).toBe(200);
}

const values = async (q: string) => new Map((await prom.query(q)).map((s) => [s.labels['shard'] ?? '', s.value]));
const value = async (q: string) => (await prom.query(q))[0]?.value;

it('a whole-job DELETE ends the job totals on every partition; other jobs and rule outputs across jobs stay', async () => {
  const shards = ['0', '1', '2', '3', '4', '5', '6', '7'];
  // The job's groups really are spread: their home partitions (where the ingest writes them) differ.
  const homes = new Set(shards.map((shard) => homePartition(buildMessageKey('etl', { shard }, DEFAULT_PRODUCER_LABELS), PARTITIONS)));
  expect(homes.size).toBeGreaterThanOrEqual(3);
  for (const shard of shards) await push('etl', shard, 10, 1);
  await push('other', '0', 100, 7);
  expect((await eventually(() => values('etl_rows_total{job="etl"}'), (m) => m.size === 8, 20_000)).size).toBe(8);
  expect(await eventually(() => value('etl_rows_total:by_table_total'), (v) => v === 180, 20_000)).toBe(180);

  const res = await fetch(`${relay!.url}/metrics/job/etl`, { method: 'DELETE' });
  expect(res.status).toBe(202);

  // Every default series of the job ends (staleness markers), counters and gauges alike.
  expect((await eventually(() => values('{job="etl"}'), (m) => m.size === 0, 20_000)).size).toBe(0);
  // The other job and the rule output over both jobs go on, written on every flush.
  await sleep(2_000);
  expect(await value('etl_rows_total{job="other"}')).toBe(100);
  expect(await value('etl_queue_depth{job="other"}')).toBe(7);
  expect(await value('etl_rows_total:by_table_total')).toBe(180);
  expect(await value('count_over_time(etl_rows_total:by_table_total[1s])')).toBeGreaterThan(0);

  // A new run of the ended job counts from zero in its own series; the rule total adds it.
  await push('etl', '0', 4, 2);
  expect(await eventually(() => value('etl_rows_total{job="etl"}'), (v) => v === 4, 20_000)).toBe(4);
  expect(await eventually(() => value('etl_rows_total:by_table_total'), (v) => v === 184, 20_000)).toBe(184);
  expect((await values('etl_rows_total{job="etl"}')).size).toBe(1);
}, 120_000);

it('`prom-relay end-job --config <file> <job>` ends a job the same way, from the command line', async () => {
  for (const shard of ['0', '1', '2', '3']) await push('cli-job', shard, 3, 1);
  expect((await eventually(() => values('etl_rows_total{job="cli-job"}'), (m) => m.size === 4, 20_000)).size).toBe(4);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=@prom-relay/source', '--import', 'tsx', join(RELAY_DIR, 'src/cli.ts'), 'end-job', '--config', configFile, 'cli-job'],
    { cwd: resolve(RELAY_DIR, '../..'), timeout: 60_000 },
  );
  expect(stdout).toMatch(new RegExp(`job cli-job ended: delete produced to ${PARTITIONS} partitions of `));
  expect((await eventually(() => values('{job="cli-job"}'), (m) => m.size === 0, 20_000)).size).toBe(0);
  expect(await value('etl_rows_total{job="other"}')).toBe(100);
}, 90_000);
