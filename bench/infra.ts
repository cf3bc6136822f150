// Start-up cost of the real servers: Kafka broker cold (jars not cached, empty Maven repo) vs warm, Prometheus, Pushgateway.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureKafkaJars, KAFKA_VERSION, startKafka, startPrometheus, startPushgateway } from '@prom-relay/infra';

const RUNS = 3;
const WARM_BUDGET_MS = 20_000;
const log = (line: string): void => {
  process.stderr.write(`[bench infra] ${line}\n`);
};

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const s = (ms: number): string => (ms / 1000).toFixed(2);

// Cold: a temp jar cache and a temp Maven repository, so every jar (and Maven's plugin) comes from Maven Central.
const loadAtStart = loadavg()[0] ?? NaN;
const coldCache = mkdtempSync(join(tmpdir(), 'bench-kafka-cache-'));
const coldRepo = mkdtempSync(join(tmpdir(), 'bench-m2-'));
let coldJarsMs: number;
let coldStartMs: number;
try {
  log('cold: resolving jars from Maven Central into a temp cache');
  [coldJarsMs] = await timed(() => ensureKafkaJars({ cacheDir: coldCache, mavenRepoLocal: coldRepo }));
  const [startMs, kafka] = await timed(() => startKafka({ cacheDir: coldCache }));
  coldStartMs = startMs;
  await kafka.stop();
} finally {
  rmSync(coldCache, { recursive: true, force: true });
  rmSync(coldRepo, { recursive: true, force: true });
}

await ensureKafkaJars();
const warm: number[] = [];
const createTopic: number[] = [];
const gracefulRestart: number[] = [];
const crashRestart: number[] = [];
const stop: number[] = [];
for (let i = 0; i < RUNS; i++) {
  log(`warm broker run ${i + 1}/${RUNS}`);
  const [startMs, kafka] = await timed(() => startKafka());
  warm.push(startMs);
  createTopic.push((await timed(() => kafka.createTopic('bench', { partitions: 8 })))[0]);
  gracefulRestart.push((await timed(() => kafka.restart()))[0]);
  await kafka.kill();
  crashRestart.push((await timed(() => kafka.restart()))[0]);
  stop.push((await timed(() => kafka.stop()))[0]);
}

const promStart: number[] = [];
const promRestart: number[] = [];
const pgwStart: number[] = [];
for (let i = 0; i < RUNS; i++) {
  log(`Prometheus and Pushgateway run ${i + 1}/${RUNS}`);
  const [pm, prom] = await timed(() => startPrometheus());
  promStart.push(pm);
  promRestart.push((await timed(() => prom.restart()))[0]);
  await prom.stop();
  const [gm, pgw] = await timed(() => startPushgateway());
  pgwStart.push(gm);
  await pgw.stop();
}

const row = (name: string, xs: number[], note = ''): string =>
  `| ${name} | ${s(median(xs))} | ${s(Math.min(...xs))} | ${s(Math.max(...xs))} | ${xs.length} | ${note} |`;
const warmMedian = median(warm);
process.stdout.write(
  [
    '## Infrastructure start-up (real servers on loopback)',
    '',
    `Apache Kafka ${KAFKA_VERSION} single-node KRaft broker (\`-Xmx512m\`), Prometheus 2.42 and Pushgateway 1.5 as started by`,
    '`@prom-relay/infra` for tests and `npm run stack`. "Start" ends when the server answers its readiness probe',
    '(Kafka: a metadata request from kafkajs; Prometheus and Pushgateway: `GET /-/ready` = 200). Cold = jars not cached',
    'and an empty Maven repository, so everything is downloaded from Maven Central (and storage is formatted once);',
    `warm = jars and storage template cached in \`.cache/kafka\`. Load average when the run began: ${loadAtStart.toFixed(1)}`,
    '(the machine is shared; start times grow with load).',
    '',
    '| Measurement | median s | min s | max s | runs | note |',
    '|---|---:|---:|---:|---:|---|',
    row('Kafka cold: resolve jars (Maven Central)', [coldJarsMs], 'network-bound'),
    row('Kafka cold: format + start after download', [coldStartMs], ''),
    row('**Kafka cold total**', [coldJarsMs + coldStartMs], 'jars + start'),
    row('**Kafka warm start** (storage from template + start)', warm, `budget ${WARM_BUDGET_MS / 1000} s: ${warmMedian < WARM_BUDGET_MS ? 'within' : 'EXCEEDED'}`),
    row('Kafka create topic (8 partitions, leaders ready)', createTopic, ''),
    row('Kafka graceful restart (same ports, data kept)', gracefulRestart, 'stop + start'),
    row('Kafka restart after SIGKILL', crashRestart, 'waits out the old broker session (3 s)'),
    row('Kafka stop (SIGTERM, data removed)', stop, ''),
    row('Prometheus start', promStart, ''),
    row('Prometheus restart (same port and TSDB)', promRestart, ''),
    row('Pushgateway start', pgwStart, ''),
    '',
  ].join('\n'),
);
