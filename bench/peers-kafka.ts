// Kafka path, relay vs Telegraf: a pre-filled 4-partition topic of 100-sample text messages from 2,000 short-lived
// producers, consumed to Remote Write into a counting sink. prom-relay (`prom-relay run`, the working tree bundled to
// JavaScript as deployed) vs Telegraf (inputs.kafka_consumer, data_format prometheus -> outputs.http,
// prometheusremotewrite). CPU-seconds per input sample from /proc (each process; the broker's apart), and the totals
// in the sink against ground truth.
// Run: node --conditions=@prom-relay/source --import tsx bench/peers-kafka.ts   (prints one markdown section)
// Options: BENCH_PRODUCERS (2000), BENCH_PUSHES (4 per producer: 800k samples), BENCH_ROUNDS (2).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HEADER } from '@prom-relay/emitter';
import { startKafka, type KafkaServer } from '@prom-relay/infra';
import kafkajs from 'kafkajs';
import { stringify } from 'yaml';
import { startChild, stopChild, waitFor, type Child } from './lib/children.js';
import { peerBinary, peerLabel } from './lib/go-peers.js';
import { cpuSeconds, findPid, rssBytes } from './lib/proc.js';
import { bundleRelay } from './lib/relay-bundle.js';
import { startRwSink, type RwSink } from './lib/rw-sink.js';
import { fmt, median, textWorkload } from './lib/text-workload.js';

const MiB = 2 ** 20;

const log = (msg: string) => process.stderr.write(`[peers-kafka] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PARTITIONS = 4;
const PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 2000);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

async function fill(kafka: KafkaServer, topic: string, messages: kafkajs.Message[]): Promise<void> {
  const client = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true, timeout: 60_000 });
  await admin.disconnect();
  const producer = client.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += 150) {
    inflight.push(producer.send({ topic, acks: -1, messages: messages.slice(i, i + 150) }));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
}

interface Run {
  /** CPU-seconds of the peer's process from its first record to the sink holding everything */
  cpu: number;
  broker: number;
  seconds: number;
  rss: number;
  /** sum of bench_rows_total over the series in the sink */
  total: number;
  series: number;
  samplesOut: number;
  exact: boolean;
}

/** Peak RSS of `pid`, sampled until stopped. */
function rssSampler(pid: number): () => number {
  let peak = 0;
  const read = () => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      /* exited */
    }
  };
  const timer = setInterval(read, 250);
  return () => (read(), clearInterval(timer), peak);
}

async function relayRun(cli: string, kafka: KafkaServer, brokerPid: number | undefined, topic: string, expected: number): Promise<Run> {
  const sink = await startRwSink();
  const dir = mkdtempSync(join(tmpdir(), 'peers-kafka-relay-'));
  const file = join(dir, 'relay.yaml');
  const group = `relay-${randomUUID().slice(0, 8)}`;
  writeFileSync(
    file,
    stringify({
      kafka: { brokers: kafka.brokers, topics: [topic], group_id: group, checkpoint_topic: `ckpt-${group}`, dlq_topic: `dlq-${group}`, topic_partitions: PARTITIONS },
      remote_write: { url: sink.url, max_samples_per_request: 10_000, concurrency: 4 },
      aggregation: { max_series_per_job: 1_000_000 },
      flush: { interval: '2s' },
      server: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
    }),
  );
  const child = startChild('prom-relay run', process.execPath, [cli, 'run', '--config', file]);
  try {
    // Consuming starts once every input partition (and the repartition stage's, when there is one) is restored.
    await waitFor(child, 'its partitions restored', () => {
      const stage = child.logs.find((l) => String(l.msg).startsWith('repartition stage ready'));
      const restored = child.logs.filter((l) => l.msg === 'partition restored').length;
      return child.logs.some((l) => l.msg === 'relay started') && restored >= PARTITIONS + Number(stage?.partitions ?? 0) ? true : undefined;
    });
    return await measured(child, brokerPid, sink, () => sink.sum('bench_rows_total') === expected, expected);
  } finally {
    await stopChild(child, 5000);
    await sink.close();
  }
}

async function telegrafRun(kafka: KafkaServer, brokerPid: number | undefined, topic: string, expected: number, samplesIn: number): Promise<Run> {
  const binary = await peerBinary('telegraf');
  const sink = await startRwSink();
  const dir = mkdtempSync(join(tmpdir(), 'peers-kafka-telegraf-'));
  const file = join(dir, 'telegraf.conf');
  writeFileSync(
    file,
    `[agent]
  interval = "10s"
  flush_interval = "1s"
  metric_batch_size = 10000
  metric_buffer_limit = 2000000
  omit_hostname = true
  quiet = true
[[inputs.kafka_consumer]]
  brokers = ${JSON.stringify(kafka.brokers)}
  topics = ["${topic}"]
  consumer_group = "telegraf-${randomUUID().slice(0, 8)}"
  offset = "oldest"
  ## Kafka 4.x refuses the protocol versions of Telegraf's default (0.10.2.0)
  kafka_version = "3.6.0"
  max_undelivered_messages = 1000
  ## the producer's job and grouping as tags: without them, every producer's series would overwrite the others'
  msg_headers_as_tags = ["${HEADER.job}", "${HEADER.grouping}"]
  data_format = "prometheus"
[[outputs.http]]
  url = "${sink.url}"
  data_format = "prometheusremotewrite"
  [outputs.http.headers]
    Content-Type = "application/x-protobuf"
    Content-Encoding = "snappy"
    X-Prometheus-Remote-Write-Version = "0.1.0"
`,
  );
  const child = startChild(peerLabel('telegraf'), binary, ['--config', file]);
  try {
    // Telegraf writes every input sample through: done when the sink holds as many, and nothing more came for 3 s.
    return await measured(child, brokerPid, sink, () => sink.samples >= samplesIn && Date.now() - sink.lastAt > 3000, expected);
  } finally {
    await stopChild(child, 5000);
    await sink.close();
  }
}

async function measured(child: Child, brokerPid: number | undefined, sink: RwSink, done: () => boolean, expected: number): Promise<Run> {
  const cpu0 = cpuSeconds(child.pid);
  const broker0 = brokerPid ? cpuSeconds(brokerPid) : Number.NaN;
  const t0 = Date.now();
  const peak = rssSampler(child.pid);
  const deadline = Date.now() + 15 * 60_000;
  let exact = true;
  while (!done()) {
    if (child.child.exitCode !== null) throw new Error(`${child.name} exited: ${child.lines.slice(-5).join(' | ')}`);
    if (Date.now() > deadline) {
      exact = false;
      log(`${child.name}: not done within 15 min (sink: ${sink.samples} samples, total ${sink.sum('bench_rows_total')} of ${expected})`);
      break;
    }
    await sleep(50);
  }
  const cpu = cpuSeconds(child.pid) - cpu0;
  const broker = brokerPid ? cpuSeconds(brokerPid) - broker0 : Number.NaN;
  const total = sink.sum('bench_rows_total');
  return {
    cpu,
    broker,
    seconds: (Date.now() - t0) / 1000,
    rss: peak(),
    total,
    series: sink.last.size,
    samplesOut: sink.samples,
    exact: exact && total === expected,
  };
}

async function main(): Promise<void> {
  const cli = await bundleRelay();
  await peerBinary('telegraf');
  log('starting Kafka');
  const kafka = await startKafka({ heap: '1g', startTimeoutMs: 300_000 });
  const brokerPid = findPid('java', 'kafka.Kafka', dirname(kafka.logFile));
  const relay: Run[] = [];
  const telegraf: Run[] = [];
  try {
    const { messages, expected } = textWorkload(PRODUCERS, PUSHES);
    const samples = messages.length * 100;
    const topic = 'bench-peers-kafka';
    log(`filling ${topic}: ${fmt(messages.length)} messages, ${fmt(samples)} samples`);
    await fill(kafka, topic, messages);
    for (let round = 0; round < ROUNDS; round++) {
      const r = await relayRun(cli, kafka, brokerPid, topic, expected);
      relay.push(r);
      log(`#${round + 1} relay: ${r.cpu.toFixed(2)} CPU-s (${fmt(samples / r.cpu)} samples/CPU-s), broker ${r.broker.toFixed(2)}, ${r.seconds.toFixed(1)} s, RSS ${fmt(r.rss / MiB)} MiB, total ${r.total} of ${expected}, ${r.series} series`);
      const t = await telegrafRun(kafka, brokerPid, topic, expected, samples);
      telegraf.push(t);
      log(`#${round + 1} telegraf: ${t.cpu.toFixed(2)} CPU-s (${fmt(samples / t.cpu)} samples/CPU-s), broker ${t.broker.toFixed(2)}, ${t.seconds.toFixed(1)} s, RSS ${fmt(t.rss / MiB)} MiB, total ${t.total} of ${expected}, ${t.series} series`);
    }
    process.stdout.write(section(relay, telegraf, samples, messages.length, expected, kafka.version));
  } finally {
    await kafka.stop();
  }
}

function section(relay: Run[], telegraf: Run[], samples: number, messages: number, expected: number, kafkaVersion: string): string {
  const range = (runs: Run[], f: (r: Run) => number, d = 0) => `${fmt(Math.min(...runs.map(f)), d)}–${fmt(Math.max(...runs.map(f)), d)}`;
  const perCpu = (r: Run) => samples / r.cpu;
  const brokerPerM = (r: Run) => r.broker / (samples / 1e6);
  const row = (name: string, runs: Run[], totals: string) =>
    // (CPU-s per 1M samples from the median rate: the two columns say one thing.)
    `| ${name} | **${fmt(median(runs.map(perCpu)))}** (${range(runs, perCpu)}) | ${fmt(1e6 / median(runs.map(perCpu)), 2)} | ${fmt(median(runs.map(brokerPerM)), 2)} | ${fmt(median(runs.map((r) => r.seconds)), 1)} s | ${fmt(Math.max(...runs.map((r) => r.rss)) / MiB)} MiB | ${fmt(median(runs.map((r) => r.series)))} series, ${fmt(median(runs.map((r) => r.samplesOut)))} samples | ${totals} |`;
  const relayTotals = relay.every((r) => r.exact) ? `exact in every round (${fmt(expected)})` : `not exact: ${relay.map((r) => fmt(r.total)).join(', ')} of ${fmt(expected)}`;
  const tgMatched = telegraf.every((r) => r.total === expected);
  const tgTotals = `not a total: \`sum()\` over its per-producer raw series read ${telegraf.map((r) => fmt(r.total)).join(', ')} of ${fmt(expected)}${tgMatched ? ' at the end of this run (no restart, no series gone stale yet)' : ''}`;
  const ratio = median(relay.map(perCpu)) / median(telegraf.map(perCpu));
  return `## Peers: Kafka path, prom-relay vs Telegraf

Workload: a pre-filled topic (Kafka ${kafkaVersion}, ${PARTITIONS} partitions) of ${fmt(messages)} text messages, 100 samples each
(61 counters, 3 histograms of 11 buckets; ${fmt(samples)} samples) from ${fmt(PRODUCERS)} short-lived producers (a UUID each, counters
from zero, ${PUSHES} pushes each, interleaved), consumed by a fresh consumer group to Remote Write into a counting sink (decodes
every request with @prom-relay/codec, keeps the last value per series). ${ROUNDS} rounds, the peers alternating, median shown with the range.
CPU-seconds from /proc (utime+stime of the peer's process, worker threads included) from its start of consuming
(the relay: every partition restored; Telegraf: its start, a few ms of set-up) until the sink holds the result
(the relay: the exact total; Telegraf: every input sample and 3 s of quiet); the broker's apart.
- **prom-relay** (\`prom-relay run\`, the working tree bundled to JavaScript as deployed; flush every 2 s, default
  aggregation: counters summed over producers per output series, checkpointed): ground truth ${fmt(expected)} for
  \`sum(bench_rows_total)\`.
- **${peerLabel('telegraf')}** (\`inputs.kafka_consumer\`, \`data_format = "prometheus"\`, \`kafka_version = "3.6.0"\` for Kafka 4.x,
  the job and grouping headers as tags; \`outputs.http\` with \`prometheusremotewrite\`): writes every input sample
  through, one series per producer; it has no running total over producers (its aggregators keep per-window state in
  memory and acknowledge Kafka before writing), so its "total" here is \`sum()\` over the per-producer series at the end.
  Once short-lived producers' series go stale, that sum falls; it is not a counter.

| consumer | input samples per CPU-second | CPU-s per 1M samples | broker CPU-s per 1M samples | wall time | peak RSS | written to the sink | totals vs ground truth |
| --- | --- | --- | --- | --- | --- | --- | --- |
${row('prom-relay', relay, relayTotals)}
${row(peerLabel('telegraf'), telegraf, tgTotals)}

prom-relay used ${ratio.toFixed(1)}× fewer CPU-seconds per input sample than Telegraf in this run.
`;
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
