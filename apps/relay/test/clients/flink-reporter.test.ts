// Flink as its users run it: a Flink 2.2 job in a local MiniCluster, Flink's own PrometheusPushGatewayReporter pushing
// to a relay (real Kafka, real Prometheus) with the relay's token in hostUrl, and the relay configured with the Flink
// preset of apps/relay/README.md, read from there. Two runs of the job, each its own random job name, each DELETEing
// its group at shutdown: Prometheus shows N after the first; after the second (parallelism 2, and each subtask's first
// attempt failing after K records) 2N + 2K: the sum over its subtasks and their attempts. Flink's gauges end with the
// DELETE. The job (test/flink) is built once per machine (build.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { extractBlocks } from '../docs/markdown-blocks.js';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';
import { ensureFlinkJob, FLINK_JOB_DIR, run, type FlinkJob } from '../flink/build.js';

const README = join(FLINK_JOB_DIR, '..', '..', 'README.md');
const TOKEN = 'flink/token-81c7';
const N = 1000;
/** Records each first attempt of the second run counts before it fails. */
const K = 100;
const OPERATOR = 'flink_taskmanager_job_task_operator_numRecordsIn:by_job_name_operator_name_task_name_total{operator_name="count"}';
const USER = 'flink_taskmanager_job_task_operator_recordsMapped:by_job_name_operator_name_task_name_total{operator_name="count"}';
const GAUGE = 'flink_taskmanager_Status_JVM_Memory_Heap_Used';

/** The README's blocks this test runs (marked `not-run: … flink-reporter.test.ts …` there). */
function readmeBlocks(): { rules: unknown[]; flinkOptions: Record<string, string> } {
  const blocks = extractBlocks('apps/relay/README.md', readFileSync(README, 'utf8')).filter((b) => b.notRun?.includes('flink-reporter.test.ts'));
  expect(blocks).toHaveLength(2);
  const rules = (parseYaml(blocks[0]!.text) as { aggregation: { rules: unknown[] } }).aggregation.rules;
  const flinkOptions = parseYaml(blocks[1]!.text) as Record<string, string>;
  return { rules, flinkOptions };
}

let job: FlinkJob;
let prom: PrometheusServer;
let relay: RelayProcess | undefined;
let flinkOptions: Record<string, string>;

beforeAll(async () => {
  const started = Date.now();
  // First, and alone: a cold build downloads the Flink jars (once per machine).
  job = await ensureFlinkJob((line) => process.stderr.write(`[flink] ${line}\n`));
  process.stderr.write(`[flink] job ${job.built ? `built in ${job.record.seconds.toFixed(1)} s (Maven ${job.record.mavenOnline ? 'online' : 'offline'})` : 'cached'}, ready after ${Date.now() - started} ms\n`);
  const readme = readmeBlocks();
  prom = await startPrometheus();
  const topic = await createTestTopic({ prefix: 'flink', partitions: 2 });
  const config = testRelayConfig({
    topic,
    remoteWriteUrl: prom.remoteWriteUrl,
    extra: {
      ingest: { bearer_tokens: [TOKEN] },
      aggregation: { series_ttl: '10m', rules: readme.rules },
      log: { level: 'debug' },
    },
  });
  relay = await startRelayProcess(config);
  // The README's options as written, but for where the relay is and a short interval (the job's map waits 5 s at its end).
  flinkOptions = { ...readme.flinkOptions, 'metrics.reporter.prom.hostUrl': `${relay.url}/token/${encodeURIComponent(TOKEN)}`, 'metrics.reporter.prom.interval': '1 s' };
}, 900_000);

afterAll(async () => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
  await prom?.stop();
});

/** One run of the job, to its end: the JVM exits after its MiniCluster closed, the reporter's DELETE sent. */
async function runFlinkJob(parallelism: number, failAfter = 0): Promise<number> {
  const args = [
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Dlog4j2.level=WARN',
    '-cp',
    job.classpath,
    'FlinkCountJob',
    '--records',
    String(N),
    '--parallelism',
    String(parallelism),
    '--job',
    'count-records',
    '--fail-after',
    String(failAfter),
    ...Object.entries(flinkOptions).map(([k, v]) => `${k}=${v}`),
  ];
  const result = await run('java', args, { timeoutMs: 180_000 });
  lastJobOutput = result.output;
  expect(result.code, result.output.slice(-3000)).toBe(0);
  expect(result.output).not.toMatch(/Failed to (push|delete) metrics/);
  return result.ms;
}

const value = async (q: string) => (await prom.query(q))[0]?.value;

let lastJobOutput = '';
/**
 * `q` reaches `expected` within 20 s; else the failure says every series the query answers, the relay's last log lines
 * (debug: every push and delete) and the job's output.
 */
async function expectTotal(q: string, expected: number): Promise<void> {
  const got = await eventually(() => value(q), (v) => v === expected, 20_000);
  if (got === expected) return;
  const series = JSON.stringify(await prom.query(q));
  const logs = relay!.logs.slice(-60).map((l) => JSON.stringify(l)).join('\n');
  expect(got, `${q}: ${series}\nrelay logs:\n${logs}\njob output:\n${lastJobOutput.slice(-3000)}`).toBe(expected);
}

it('Flink reporter → relay (token in hostUrl, README preset): N, then 2N (+ what failed attempts counted) over a second run with parallelism 2 and a failover; totals outlive the DELETE, gauges do not', async () => {
  const firstMs = await runFlinkJob(1);
  await expectTotal(OPERATOR, N);
  await expectTotal(USER, N);
  // The run DELETEd its whole job as it stopped: its gauges end (a staleness marker) …
  expect(await eventually(() => value(`count(${GAUGE})`), (v) => v === undefined, 20_000)).toBeUndefined();
  expect(await value(`count(count_over_time(${GAUGE}[10m]))`)).toBeGreaterThan(0);
  // … its totals stay, flush after flush.
  await new Promise((r) => setTimeout(r, 1500));
  expect(await value(OPERATOR)).toBe(N);

  // A second run: a new random job name, new job ids, two subtasks of the map, and a task failover: each subtask's
  // first attempt fails after K records (reported); its second attempt (new attempt id and number) reads its input
  // again. The operator's total is the sum over subtasks and attempts: N more, plus what the failed attempts counted.
  const secondMs = await runFlinkJob(2, K);
  await expectTotal(OPERATOR, 2 * N + 2 * K);
  await expectTotal(USER, 2 * N + 2 * K);
  // One series per operator: subtasks, attempts and runs summed, never apart.
  expect((await prom.query('count by (__name__) ({__name__=~"flink_taskmanager_job_task_operator_recordsMapped.*"})')).map((s) => [s.labels['__name__'], s.value])).toEqual([
    ['flink_taskmanager_job_task_operator_recordsMapped:by_job_name_operator_name_task_name_total', 1],
  ]);
  process.stderr.write(`[flink] job runs took ${firstMs} ms (parallelism 1) and ${secondMs} ms (parallelism 2)\n`);

  expect(await stopRelay(relay!)).toBe(0);
  const written = relay!.output();
  expect(written).toContain('/token/<masked>/metrics/job/orders-etl');
  for (const form of [TOKEN, encodeURIComponent(TOKEN), 'token-81c7']) expect(written).not.toContain(form);
}, 600_000);
