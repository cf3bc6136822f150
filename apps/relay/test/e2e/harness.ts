// End-to-end harness: the relay as a real child process, short-lived jobs as real Kafka producers, and the test file's
// environment around them (relayTestEnvironment: a store, a producer, the relays it started, torn down after all).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';

const RELAY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const REPO_DIR = resolve(RELAY_DIR, '../..');

export interface RelayTestConfig {
  brokers: string[];
  topic: string;
  groupId: string;
  dlqTopic: string;
  checkpointTopic: string;
  remoteWriteUrl: string;
  flushInterval?: string;
  extra?: Record<string, unknown>;
}

export function writeRelayConfig(c: RelayTestConfig): string {
  const dir = mkdtempSync(join(tmpdir(), 'relay-e2e-'));
  const file = join(dir, 'relay.yaml');
  const config = {
    kafka: {
      brokers: c.brokers,
      group_id: c.groupId,
      topics: [c.topic],
      dlq_topic: c.dlqTopic,
      checkpoint_topic: c.checkpointTopic,
      // Short group timeouts: a SIGKILLed member's partitions move within seconds.
      session_timeout: '6s',
      heartbeat_interval: '500ms',
      rebalance_timeout: '10s',
    },
    remote_write: { url: c.remoteWriteUrl, retry_max_elapsed: '2s', timeout: '2s' },
    flush: { interval: c.flushInterval ?? '500ms' },
    server: { host: '127.0.0.1', port: 0 },
    aggregation: { series_ttl: '10m' },
    shutdown: { timeout: '20s' },
    log: { level: 'info' },
    ...c.extra,
  };
  writeFileSync(file, stringify(config));
  return file;
}

/** `writeRelayConfig` on the test broker, with the test's own consumer group (unless it names one), DLQ and checkpoint topics. */
export function testRelayConfig(c: Omit<RelayTestConfig, 'brokers' | 'groupId' | 'dlqTopic' | 'checkpointTopic'> & { groupId?: string }): string {
  return writeRelayConfig({ brokers: testKafkaBrokers(), groupId: testTopicName('relay'), dlqTopic: testTopicName('dlq'), checkpointTopic: testTopicName('ckpt'), ...c });
}

export interface RelayProcess {
  readonly child: ChildProcess;
  /** base URL once started */
  url: string;
  logs: Record<string, unknown>[];
  /** everything the process wrote to stdout and stderr, as text */
  output(): string;
  exited: Promise<number | null>;
  /** resolves when a log line matches */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Runs `prom-relay <role> --config <file>` from source (role `run` by default), as a deployment would run the built bin;
 * `env` is added to the test process's environment.
 */
export async function startRelayProcess(configFile: string, opts: { role?: 'run' | 'ingest' | 'aggregate'; env?: NodeJS.ProcessEnv } = {}): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=@prom-relay/source', '--import', 'tsx', join(RELAY_DIR, 'src/cli.ts'), opts.role ?? 'run', '--config', configFile],
    { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } },
  );
  const logs: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  let raw = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    raw += chunk.toString('utf8');
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      logs.push(parsed);
      if (process.env.RELAY_E2E_DEBUG) process.stderr.write(`[relay ${child.pid}] ${line}\n`);
      for (const w of [...waiters]) {
        if (w.pred(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    raw += chunk.toString('utf8');
    if (process.env.RELAY_E2E_DEBUG) process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 30_000) => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((res, rej) => {
      const timer = setTimeout(
        () => rej(new Error(`relay log line not seen within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}; last logs: ${JSON.stringify(logs.slice(-5))}`)),
        timeoutMs,
      );
      waiters.push({ pred, resolve: (l) => (clearTimeout(timer), res(l)) });
      void exited.then((code) => {
        clearTimeout(timer);
        rej(new Error(`relay exited (${code}) before the log line; stderr: ${stderr.slice(-2000)}; last logs: ${JSON.stringify(logs.slice(-3))}`));
      });
    });
  };
  const started = await waitForLog((l) => l.msg === 'relay started', 60_000);
  return {
    child,
    url: String(started.url),
    logs,
    output: () => raw,
    exited,
    waitForLog,
    kill: (signal) => child.kill(signal),
  };
}

/** Stops a relay with SIGTERM and waits for its exit code. */
export async function stopRelay(relay: RelayProcess): Promise<number | null> {
  if (relay.child.exitCode !== null) return relay.child.exitCode;
  relay.kill('SIGTERM');
  return relay.exited;
}

/** SIGKILLs a relay that still runs, and the worker processes it forked (`aggregate --processes N`, `ingest` workers). */
export function killRelay(relay: RelayProcess): void {
  if (relay.child.exitCode !== null || relay.child.signalCode !== null) return;
  // The workers stop themselves when their primary's IPC channel closes; SIGKILL them too, not to leave any behind.
  for (const l of relay.logs) {
    if (typeof l.msg !== 'string' || !l.msg.endsWith(' worker started') || typeof l.pid !== 'number') continue;
    try {
      process.kill(l.pid, 'SIGKILL');
    } catch {
      // already gone (a worker the test killed)
    }
  }
  relay.kill('SIGKILL');
}

/** What a test file's relays write to and are fed from; its fields answer once the file's beforeAll ran. */
export interface RelayTestEnvironment<R> {
  /** the store (default a Prometheus 2.42) */
  readonly prom: R;
  /** an idempotent Kafka producer on the test broker, connected */
  readonly producer: Producer;
  /** every relay started through startRelay, in order */
  readonly relays: RelayProcess[];
  /** startRelayProcess, and SIGKILLed (with its workers) after all if it still runs then */
  startRelay(configFile: string, opts?: { role?: 'run' | 'ingest' | 'aggregate' }): Promise<RelayProcess>;
  /** testRelayConfig writing to the store (one with a remoteWriteUrl) */
  relayConfig(c: Omit<RelayTestConfig, 'brokers' | 'groupId' | 'dlqTopic' | 'checkpointTopic' | 'remoteWriteUrl'> & { groupId?: string }): string;
}

type Stoppable = { stop(): Promise<unknown> };

/**
 * The usual lifecycle of an end-to-end test file, registered with vitest: beforeAll starts the store (a Prometheus
 * 2.42, or what `receiver` starts) and connects a Kafka producer; afterAll kills the relays the file started and
 * still running, disconnects the producer and stops the store.
 */
export function relayTestEnvironment<R extends Stoppable | Stoppable[] = PrometheusServer>(
  opts: { receiver?: () => Promise<R>; producer?: boolean; timeoutMs?: number } = {},
): RelayTestEnvironment<R> {
  let store: R | undefined;
  const kafka = opts.producer === false ? undefined : kafkaProducer(testKafkaBrokers());
  const relays: RelayProcess[] = [];
  beforeAll(async () => {
    [store] = await Promise.all([(opts.receiver ?? (startPrometheus as unknown as () => Promise<R>))(), kafka?.connect()]);
  }, opts.timeoutMs ?? 60_000);
  afterAll(async () => {
    for (const r of relays) killRelay(r);
    await kafka?.producer.disconnect();
    await Promise.all([store ?? []].flat().map((s) => s.stop()));
  });
  return {
    get prom() {
      if (store === undefined) throw new Error('relayTestEnvironment: the store is not started (read it inside a hook or test)');
      return store;
    },
    get producer() {
      if (!kafka) throw new Error('relayTestEnvironment: made with producer: false');
      return kafka.producer;
    },
    relays,
    async startRelay(configFile, o) {
      const relay = await startRelayProcess(configFile, o);
      relays.push(relay);
      return relay;
    },
    relayConfig(c) {
      const remoteWriteUrl = (store as { remoteWriteUrl?: unknown } | undefined)?.remoteWriteUrl;
      if (typeof remoteWriteUrl !== 'string') throw new Error('relayTestEnvironment: the store is not started, or has no remoteWriteUrl');
      return testRelayConfig({ ...c, remoteWriteUrl });
    },
  };
}

/** `go build` of the package `pkg` (default `.`) of the Go module in `moduleDir`, into a fresh temporary folder; answers the binary. */
export async function buildGoProgram(moduleDir: string, pkg = '.'): Promise<string> {
  const binary = join(mkdtempSync(join(tmpdir(), 'go-build-')), basename(pkg === '.' ? moduleDir : pkg));
  try {
    await promisify(execFile)('go', ['build', '-buildvcs=false', '-o', binary, pkg], { cwd: moduleDir, timeout: 240_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(e.code === 'ENOENT' ? `the Go toolchain (go) is not on PATH: it builds the Go program this test runs (${moduleDir})` : `go build failed: ${e.message}`);
  }
  return binary;
}

/**
 * A relay test of a Go program (a job pushing with the Go client, a scrape target): relayTestEnvironment without a
 * producer, whose beforeAll also builds the program (buildGoProgram) while one relay starts on a fresh 2-partition topic.
 */
export function goProgramEnvironment<R extends Stoppable & { remoteWriteUrl: string } = PrometheusServer>(
  moduleDir: string,
  opts: { pkg?: string; receiver?: () => Promise<R>; timeoutMs?: number } = {},
): { readonly prom: R; readonly relay: RelayProcess; readonly program: string } {
  const { pkg, ...envOpts } = opts;
  const env = relayTestEnvironment<R>({ ...envOpts, producer: false });
  let relay: RelayProcess | undefined;
  let program: string | undefined;
  beforeAll(async () => {
    const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
    [program, relay] = await Promise.all([buildGoProgram(moduleDir, pkg), env.startRelay(env.relayConfig({ topic }))]);
  }, 300_000);
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('goProgramEnvironment: not set up (read it inside a test)');
    return v;
  };
  return {
    get prom() {
      return env.prom;
    },
    get relay() {
      return started(relay);
    },
    get program() {
      return started(program);
    },
  };
}

/** A runFleet sender that puts every message on a random partition (kcat with a null key, a round-robin partitioner); counts what it sent. */
export function randomPartitionSender(producer: Producer, topic: string, partitions: number): { send: FleetOptions['send']; readonly sent: number } {
  let sent = 0;
  return {
    send: (messages) =>
      producer
        .send({ topic, acks: -1, messages: messages.map((m) => ({ ...m, partition: Math.floor(Math.random() * partitions) })) })
        .then(() => void (sent += messages.length)),
    get sent() {
      return sent;
    },
  };
}

export interface JobRun {
  job: string;
  instance: string;
  producerId: string;
  seq: number;
  /** cumulative values this run has pushed, per series key */
  totals: Map<string, number>;
}

/** Expected totals: per output series (job + metric labels), the sum over runs of their last cumulative values. */
export class Ledger {
  readonly expected = new Map<string, number>();

  add(seriesKey: string, delta: number): void {
    this.expected.set(seriesKey, (this.expected.get(seriesKey) ?? 0) + delta);
  }
}

export function kafkaProducer(brokers: string[]): { producer: Producer; connect(): Promise<void> } {
  const kafka = new Kafka({ brokers, clientId: `e2e-${randomUUID().slice(0, 6)}`, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  return { producer, connect: () => producer.connect() };
}

/** One push of a short-lived job in text exposition: a counter per table and a histogram, all cumulative. */
export function jobPush(
  run: JobRun,
  increments: Record<string, number>,
  ledger: Ledger,
  observations = 0,
): { key: string; value: Buffer; headers: Record<string, string> } {
  const bump = (key: string, inc: number): number => {
    const next = (run.totals.get(key) ?? 0) + inc;
    run.totals.set(key, next);
    ledger.add(key, inc);
    return next;
  };
  const lines: string[] = ['# TYPE e2e_rows_total counter'];
  for (const [table, inc] of Object.entries(increments)) {
    lines.push(`e2e_rows_total{table="${table}"} ${bump(`e2e_rows_total|${run.job}|table=${table}`, inc)}`);
  }
  // Every observation is 0.25 s: it lands in le=0.5 and le=+Inf, and adds 0.25 to the sum.
  lines.push('# TYPE e2e_latency_seconds histogram');
  lines.push(`e2e_latency_seconds_bucket{le="0.1"} ${bump(`e2e_latency_seconds_bucket|${run.job}|le=0.1`, 0)}`);
  lines.push(`e2e_latency_seconds_bucket{le="0.5"} ${bump(`e2e_latency_seconds_bucket|${run.job}|le=0.5`, observations)}`);
  lines.push(`e2e_latency_seconds_bucket{le="+Inf"} ${bump(`e2e_latency_seconds_bucket|${run.job}|le=+Inf`, observations)}`);
  lines.push(`e2e_latency_seconds_sum ${bump(`e2e_latency_seconds_sum|${run.job}|`, observations * 0.25)}`);
  lines.push(`e2e_latency_seconds_count ${bump(`e2e_latency_seconds_count|${run.job}|`, observations)}`);
  return buildMessage(
    {
      contentType: CONTENT_TYPE.text,
      job: run.job,
      grouping: { instance: run.instance },
      producerId: run.producerId,
      sequence: run.seq++,
    },
    Buffer.from(`${lines.join('\n')}\n`),
  );
}

/** The ledger key of a series Prometheus answers (instance is a producer label: never in the output). */
export function seriesKey(labels: Record<string, string>): string {
  const { __name__: name, job, instance: _instance, ...rest } = labels;
  const extra = Object.entries(rest)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${name}|${job}|${extra}`;
}

export function newRun(job: string): JobRun {
  return { job, instance: `host-${randomUUID().slice(0, 4)}`, producerId: randomUUID(), seq: 0, totals: new Map() };
}

/** Polls until `check` answers true or the deadline passes; answers the last value seen. */
export async function eventually<T>(probe: () => Promise<T>, check: (v: T) => boolean, timeoutMs: number, everyMs = 300): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!check(last) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    last = await probe();
  }
  return last;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FleetOptions {
  send(messages: { key: string; value: Buffer; headers: Record<string, string> }[]): Promise<void>;
  jobs: string[];
  /** job runs in total (each a fresh producer id starting at zero) */
  runs: number;
  pushesPerRun: number;
  /** runs active at once: several runs of one job overlap */
  overlap: number;
  pauseMs: number;
  ledger: Ledger;
  /** every n-th tick also sends a message that cannot be decoded */
  poisonEvery?: number;
  /** stop early when this answers true (between ticks) */
  stopWhen?: () => boolean;
}

/** Short-lived jobs in overlapping waves; answers how many messages and poison messages it sent. */
export async function runFleet(o: FleetOptions): Promise<{ messages: number; poison: number }> {
  let started = 0;
  let tick = 0;
  let messages = 0;
  let poison = 0;
  const active: { run: JobRun; pushes: number }[] = [];
  while (started < o.runs || active.length > 0) {
    while (active.length < o.overlap && started < o.runs) {
      active.push({ run: newRun(o.jobs[started % o.jobs.length]!), pushes: 0 });
      started++;
    }
    const batch = active.map((a) => {
      a.pushes++;
      return jobPush(a.run, { users: 1 + ((tick + a.pushes) % 5), orders: 2 * a.pushes }, o.ledger, a.pushes % 3);
    });
    tick++;
    if (o.poisonEvery && tick % o.poisonEvery === 0) {
      const bad = buildMessage(
        { contentType: CONTENT_TYPE.text, job: o.jobs[0]!, grouping: { instance: 'poison' }, producerId: randomUUID(), sequence: 0 },
        Buffer.from(`# TYPE e2e_rows_total counter\ne2e_rows_total{table="users" 999999\n`),
      );
      batch.push(bad);
      poison++;
    }
    await o.send(batch);
    messages += batch.length;
    for (let i = active.length - 1; i >= 0; i--) if (active[i]!.pushes >= o.pushesPerRun) active.splice(i, 1);
    if (o.stopWhen?.()) break;
    if (o.pauseMs > 0) await sleep(o.pauseMs);
  }
  return { messages, poison };
}

export interface PromLike {
  query(promql: string): Promise<{ labels: Record<string, string>; value: number }[]>;
  querySeries(promql: string): Promise<{ labels: Record<string, string>; samples: { value: number; timestamp: number }[] }[]>;
}

/** Latest value per ledger key of every `e2e_*` series Prometheus holds. */
export async function promTotals(prom: PromLike): Promise<Map<string, number>> {
  const vector = await prom.query('{__name__=~"e2e_.*"}');
  return new Map(vector.map((s) => [seriesKey(s.labels), s.value]));
}

/** Every raw sample of every `e2e_*` series: counters never decrease, timestamps strictly increase. */
export async function orderViolations(prom: PromLike): Promise<string[]> {
  const out: string[] = [];
  for (const s of await prom.querySeries('{__name__=~"e2e_.*"}[15m]')) {
    for (let i = 1; i < s.samples.length; i++) {
      const a = s.samples[i - 1]!;
      const b = s.samples[i]!;
      if (b.timestamp <= a.timestamp) out.push(`${seriesKey(s.labels)}: timestamp ${b.timestamp} after ${a.timestamp}`);
      if (b.value < a.value) out.push(`${seriesKey(s.labels)}: ${a.value} -> ${b.value} at ${b.timestamp}`);
    }
  }
  return out;
}

/** Waits until Prometheus holds exactly the ledger's totals; answers what it holds then. */
export async function settledTotals(prom: PromLike, ledger: Ledger, timeoutMs = 40_000): Promise<Map<string, number>> {
  return eventually(
    () => promTotals(prom),
    (m) => [...ledger.expected].every(([k, v]) => m.get(k) === v),
    timeoutMs,
    500,
  );
}
