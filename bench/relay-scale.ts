// Relay on several cores and several relays (issue 14 goals 2 and 3), in CPU time: the Kafka path (a backlog of
// 100-sample text messages, decode + aggregate + repartition + Remote Write into a counting sink), the working tree
// bundled as deployed, the broker on the same machine (its CPU reported apart).
// - Every core: `prom-relay aggregate --processes 1` vs `--processes 2`, and `--processes 1` confined to one CPU
//   (taskset: the one-core rate goal 2 compares with), on a pre-filled topic, a fresh group each run, in rotating
//   order, BENCH_ROUNDS rounds. Rate and CPU over the steady part of the run (10 % to 90 % of the backlog
//   consumed, read from the relay's one /metrics every 250 ms), then on until the sink holds the exact total.
// - Scale-out: one relay vs two relays (separate processes, one group), side by side on their own topics: started on
//   an empty topic, the group left to settle (every partition owned, /readyz 200, no assignment for 3 s), warmed up,
//   idle for IDLE_S seconds, then the backlog is produced and the relays' CPU summed until the sink holds the exact
//   total. Start-up, warm-up and idle CPU apart.
// Run: node --conditions=@prom-relay/source --import tsx bench/relay-scale.ts   (prints one markdown section)
//   A third setup, one relay with the other core kept busy (a burner process, its CPU not counted), is a contention
//   control: does one relay's CPU for the same records rise when the other core is busy? (Under other load it did,
//   by 0.86-1.47x; on the quiet machine it did not, 0.85x; a twin running the same memory-bound loop is another
//   matter: bench/diagnosis/relay-contention.ts. BENCHMARKS.md, 2026-12-02.)
// Options: BENCH_FLUSH (2s, every-core part), BENCH_SCALEOUT_FLUSH (10s), BENCH_PIN (CPUs for the relays, `0` or
// `0,1`: relay i on the i-th, modulo), BENCH_PIN_OTHERS (CPUs for the broker and this bench's producer),
// BENCH_BURNER (spin: an ALU loop, or mem: a loop over 64 MiB) and BENCH_BURNER_PIN (its CPU), BENCH_SCALEOUT_SETUPS
// (one,two,burner), BENCH_RELAY_CLI (a built cli.js to run instead of bundling the working tree), BENCH_PRODUCERS
// (2000), BENCH_PUSHES (30 per producer: 6M samples), BENCH_SCALEOUT_PUSHES (40) and BENCH_WARMUP_PUSHES (20) of the
// scale-out's, BENCH_ROUNDS (6), BENCH_PARTS
// (cores,scaleout), BENCH_CPU_PROF=<dir>: V8 CPU profiles of the relays of the scale-out part (summarise with
// `node bench/cpuprofile-top.mjs <dir>/*.cpuprofile`; V8 samples wall time, so a relay preempted by another process
// shows the preempted function as busy: compare CPU-seconds from /proc, not profile milliseconds, across setups).
import { randomUUID } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka, type KafkaServer } from '@prom-relay/infra';
import kafkajs from 'kafkajs';
import { stringify } from 'yaml';
import { startChild, stopChild, waitFor, type Child } from './lib/children.js';
import { cpuSeconds, findPid } from './lib/proc.js';
import { cpuBetween, treeCpu } from './lib/proc-tree.js';
import { bundleRelay } from './lib/relay-bundle.js';
import { startRwSink, type RwSink } from './lib/rw-sink.js';
import { fmt, median, textWorkload } from './lib/text-workload.js';

const log = (msg: string) => process.stderr.write(`[relay-scale] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PARTITIONS = 4;
const PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 2000);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 30);
/**
 * Rounds of each part (BENCH_ROUNDS). 6: the same relay took 3.34 to 5.87 CPU-s for the same backlog from round to round
 * on this machine (steal, other tenants), and 3 rounds' medians could not tell 1.1x from 1.3x (BENCHMARKS.md, 2026-12-03).
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const PARTS = new Set((process.env.BENCH_PARTS ?? 'cores,scaleout').split(','));
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
/** flush interval of the every-core part (short: the run is a few seconds) and of the scale-out part (the relay's default) */
const FLUSH = process.env.BENCH_FLUSH ?? '2s';
const SCALEOUT_FLUSH = process.env.BENCH_SCALEOUT_FLUSH ?? '10s';
/**
 * Idle seconds after the warm-up, before the measured backlog (BENCH_IDLE_S, default 5). The lag-0 window (5-20 s) is
 * about one flush interval long, so which relays' flushes fall in it depends on the phase of their flush timers: with
 * 15 s instead of 5 the same runs gave two relays 0.87x one relay's CPU instead of 1.27x (BENCHMARKS.md, 2026-12-02).
 */
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 5);
/** CPUs for the relays (taskset): relay i of a setup on PIN[i % PIN.length]; unset: wherever the scheduler puts them */
const PIN = process.env.BENCH_PIN?.split(',');
/** CPUs for the broker (all its threads) and this process (the bench's producer) */
const PIN_OTHERS = process.env.BENCH_PIN_OTHERS;
const BURNER = process.env.BENCH_BURNER ?? 'spin';
const BURNER_PIN = process.env.BENCH_BURNER_PIN;
/** BENCH_FETCH_STATS=<dir>: the relays count their consumer's fetches, batches and records (lib/kafka-fetch-stats.cjs), logged per relay for the lag-0 window */
const FETCH_STATS = process.env.BENCH_FETCH_STATS;
const FETCH_STATS_PRELOAD = fileURLToPath(new URL('./lib/kafka-fetch-stats.cjs', import.meta.url));
/** BENCH_PERF_STAT=1: `perf stat` (software events: context switches, migrations, page faults) of every relay over the lag-0 window, logged */
const PERF_STAT = process.env.BENCH_PERF_STAT === '1';
/** BENCH_RELAY_NODE_ARGS: node options for every relay (e.g. `--single-threaded-gc`), space-separated */
const NODE_ARGS = (process.env.BENCH_RELAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
/**
 * stopped (default): the backlog produced while the relays are stopped, then consumed with nothing else running (the
 * same backlog for every setup, literally); live: produced while the relays consume it (this bench's producer then
 * shares the 2 cores with them)
 */
const BACKLOG = process.env.BENCH_SCALEOUT_BACKLOG ?? 'stopped';
/**
 * BENCH_SCALEOUT_PAIRED (default 1): one relay and two relays run side by side, each on its own topic, at the same
 * moments (scaleRuns); the contention control, when asked for (BENCH_SCALEOUT_SETUPS=one,two,burner), after them on
 * its own. 0: every setup on its own, one after the other (then the control runs by default). Why: one after the
 * other, the same relay took 3.0 to 7.0 CPU-s for the same backlog from round to round (2026-12-03, the machine
 * shared): the other tenants' load, not the setup, decided a round's ratio. Side by side, both setups share it.
 */
const PAIRED = process.env.BENCH_SCALEOUT_PAIRED !== '0';
const SCALEOUT_SETUPS = new Set((process.env.BENCH_SCALEOUT_SETUPS ?? (PAIRED ? 'one,two' : 'one,two,burner')).split(','));
/**
 * scale-out: its own workload of BENCH_SCALEOUT_PUSHES pushes per producer (default 40), of which the messages produced
 * and consumed before the measured part — the first BENCH_WARMUP_PUSHES pushes of every producer (default 20): every
 * producer and series is created and every process has compiled its hot paths to their optimised tier and grown its
 * heap to the workload, a cost per process measured apart like the start-up. With 1 push, a second process was still
 * compiling inside a 4.5 s window (0.2 of the 1.24x); with 3, two relays used 1.09-1.10x the CPU of one (medians) over
 * the next 7-15M samples, with 10 1.01-1.04x (BENCHMARKS.md, 2026-12-02): a process pays ~1.5 CPU-s in its first ~2M
 * samples beyond what the same samples cost it later. With 10 each of two relays had
 * seen only 1M samples: 1.26x in one run on 2026-12-03, where 20 (each 2M, the same 4M-sample backlog after) gave 0.99x.
 */
const WARMUP_PUSHES = Number(process.env.BENCH_WARMUP_PUSHES ?? 20);
const SCALEOUT_PUSHES = Number(process.env.BENCH_SCALEOUT_PUSHES ?? 40);
const WARMUP = PRODUCERS * WARMUP_PUSHES;
const POLL_MS = 250;

async function createTopic(kafka: KafkaServer, topic: string): Promise<void> {
  const admin = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true, timeout: 60_000 });
  await admin.disconnect();
}

async function produce(kafka: KafkaServer, topic: string, messages: kafkajs.Message[]): Promise<void> {
  const producer = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING }).producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += 150) {
    inflight.push(producer.send({ topic, acks: -1, messages: messages.slice(i, i + 150) }));
    if (inflight.length >= 8) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
}

interface Relay {
  child: Child;
  url?: string;
}

function configFile(kafka: KafkaServer, topic: string, group: string, sink: RwSink, flush = FLUSH): string {
  const file = join(mkdtempSync(join(tmpdir(), 'relay-scale-')), 'relay.yaml');
  writeFileSync(
    file,
    stringify({
      kafka: { brokers: kafka.brokers, topics: [topic], group_id: group, checkpoint_topic: `ckpt-${group}`, dlq_topic: `dlq-${group}`, topic_partitions: PARTITIONS },
      remote_write: { url: sink.url, max_samples_per_request: 10_000, concurrency: 4 },
      aggregation: { max_series_per_job: 1_000_000 },
      flush: { interval: flush },
      server: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
    }),
  );
  return file;
}

async function startAggregate(cli: string, file: string, processes: number, name: string, profile = false, index = 0, pinTo?: string): Promise<Relay> {
  const prof = profile && PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const stats = FETCH_STATS ? ['--require', FETCH_STATS_PRELOAD] : [];
  const args = [...prof, ...stats, ...NODE_ARGS, cli, 'aggregate', '--config', file, '--processes', String(processes)];
  // BENCH_PIN: the relays on given CPUs (taskset), to tell contention between relays from work they duplicate.
  const cpu = pinTo ?? PIN?.[index % PIN.length];
  const child = cpu === undefined ? startChild(name, process.execPath, args) : startChild(name, 'taskset', ['-c', cpu, process.execPath, ...args]);
  const started = await waitFor(child, "'relay started'", () => child.logs.find((l) => l.msg === 'relay started'));
  return { child, url: String(started.url) };
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
}
function sumOf(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))) {
    const labels = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) sum += Number(m[2]);
  }
  return sum;
}

/**
 * A process that keeps a core busy for the setup "one relay, the other core busy" (its CPU is not counted): `spin` an
 * ALU loop that touches no memory, `mem` a loop over 64 MiB (the shared L3 and memory traffic as well).
 */
function startBurner(): Child {
  const code =
    BURNER === 'mem'
      ? 'const a = new Float64Array(8 << 20); let s = 0; for (;;) for (let i = 0; i < a.length; i += 8) { s += a[i]; a[i] = s; }'
      : 'let x = 0; for (;;) x = (x + 1) | 0;';
  const args = ['-e', code];
  return BURNER_PIN === undefined ? startChild('burner', process.execPath, args) : startChild('burner', 'taskset', ['-c', BURNER_PIN, process.execPath, ...args]);
}

/** User and system CPU-seconds of a process (not its children), from /proc. */
function userSystem(pid: number): [number, number] {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]) / 100, Number(fields[12]) / 100];
}

/** `perf stat` of a process from now until the answered function is called, which answers its counts by event. */
function perfStat(pid: number): () => Promise<Record<string, number>> {
  const child = spawn('perf', ['stat', '-x', ',', '-e', 'task-clock,context-switches,cpu-migrations,page-faults', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  return () =>
    new Promise((resolve) => {
      child.once('exit', () => {
        const counts: Record<string, number> = {};
        for (const line of err.split('\n')) {
          const [value, , event] = line.split(',');
          if (event && value && /^[\d.]+$/.test(value)) counts[event] = Number(value);
        }
        resolve(counts);
      });
      child.kill('SIGINT');
    });
}

/** Steal time of the machine (jiffies the hypervisor ran something else while a vCPU wanted to run), from /proc/stat. */
function stealSeconds(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  return Number(fields[8] ?? 0) / 100;
}

interface FetchStats {
  fetches: number;
  batches: number;
  records: number;
  byTopic: Record<string, { batches: number; records: number }>;
}
const fetchStats = (r: Relay): FetchStats | undefined => {
  if (!FETCH_STATS) return undefined;
  try {
    return JSON.parse(readFileSync(join(FETCH_STATS, `${r.child.pid}.json`), 'utf8')) as FetchStats;
  } catch {
    return undefined;
  }
};
function fetchStatsBetween(a: FetchStats | undefined, b: FetchStats | undefined): string {
  if (!a || !b) return '';
  const topics = Object.keys(b.byTopic).map((t) => {
    const [x, y] = [a.byTopic[t] ?? { batches: 0, records: 0 }, b.byTopic[t]!];
    return `${t} ${y.batches - x.batches} batches ${y.records - x.records} records`;
  });
  return `${b.fetches - a.fetches} fetches (${topics.join(', ')})`;
}

const treeOf = (relays: Relay[]) => {
  const all = new Map<number, number>();
  for (const r of relays) for (const [pid, cpu] of treeCpu(r.child.pid)) all.set(pid, cpu);
  return all;
};

async function untilExact(sink: RwSink, expected: number, relays: Relay[], what: string): Promise<void> {
  const deadline = Date.now() + 15 * 60_000;
  while (sink.sum('bench_rows_total') !== expected) {
    for (const r of relays) if (r.child.child.exitCode !== null) throw new Error(`${r.child.name} exited: ${r.child.lines.slice(-5).join(' | ')}`);
    if (Date.now() > deadline) throw new Error(`${what}: the sink holds ${sink.sum('bench_rows_total')} of ${expected} after 15 min`);
    await sleep(50);
  }
}

/**
 * The "every core" setups: 1 process, 2 processes, and 1 process confined to one CPU (`taskset -c 0`: its one-core
 * rate, issue 14 goal 2's baseline; unconfined, one process keeps ~1.1 cores busy with V8's helper threads).
 */
const CORE_SETUPS = [
  { key: '1', processes: 1, pin: undefined },
  { key: '2', processes: 2, pin: undefined },
  { key: '1 on one CPU', processes: 1, pin: '0' },
] as const;
type CoreSetup = (typeof CORE_SETUPS)[number];

interface CoresRun {
  setup: CoreSetup['key'];
  processes: number;
  /** steady part: input samples per wall second and per relay CPU-second (primary + workers) */
  rate: number;
  perCpu: number;
  /** relay CPU-seconds per wall second in the steady part: the cores it kept busy */
  cores: number;
  brokerPerM: number;
  /** whole run, from `relay started` to the exact total in the sink */
  wholeSeconds: number;
  wholeCpu: number;
  exact: boolean;
  /** the machine's 1-minute load average at the end of the run (other work on it) */
  load: number;
}

async function coresRun(cli: string, kafka: KafkaServer, brokerPid: number | undefined, topic: string, messages: number, expected: number, setup: CoreSetup): Promise<CoresRun> {
  const { processes } = setup;
  const sink = await startRwSink();
  const group = `scale-${randomUUID().slice(0, 8)}`;
  const relay = await startAggregate(cli, configFile(kafka, topic, group, sink), processes, `aggregate --processes ${processes}`, false, 0, setup.pin);
  try {
    const t0 = Date.now();
    const points: { t: number; consumed: number; cpu: Map<number, number>; broker: number; assignments: number }[] = [];
    const assignments = () => relay.child.logs.filter((l) => l.msg === 'partitions assigned').length;
    const broker = () => (brokerPid ? cpuSeconds(brokerPid) : Number.NaN);
    while (points.length === 0 || points.at(-1)!.consumed < 0.9 * messages) {
      if (relay.child.child.exitCode !== null) throw new Error(`relay exited: ${relay.child.lines.slice(-5).join(' | ')}`);
      const consumed = sumOf(await scrape(relay.url!), 'prom_relay_messages_consumed_total', { topic });
      points.push({ t: Date.now(), consumed, cpu: treeOf([relay]), broker: broker(), assignments: assignments() });
      await sleep(POLL_MS);
    }
    await untilExact(sink, expected, [relay], `--processes ${processes}`);
    // Every process's CPU since it was forked: start-up included.
    const whole = cpuBetween(new Map(), treeOf([relay]));
    const seen = relay.child.logs.filter((l) => l.msg === 'partitions assigned' || (l.msg === 'partition restored' && l.from === 'checkpoint'));
    if (process.env.BENCH_TRACE) for (const l of seen) log(`  ${Number(l.time) - t0} ms ${String(l.msg)} ${JSON.stringify(l.assignment ?? l.partition ?? '')}`);
    // The steady part starts at 10 % consumed, and not before the group's last assignment (start-up rebalances).
    const settled = points.findIndex((p) => p.assignments === points.at(-1)!.assignments);
    const a = points.find((p, i) => i >= settled && p.consumed >= 0.1 * messages) ?? points[settled]!;
    const b = points.find((p) => p.consumed >= 0.9 * messages)!;
    if (b.consumed - a.consumed < 0.5 * messages) log(`--processes ${processes}: the steady part is only ${fmt(b.consumed - a.consumed)} messages (the group settled late)`);
    const samples = (b.consumed - a.consumed) * 100;
    const cpu = cpuBetween(a.cpu, b.cpu);
    const seconds = (b.t - a.t) / 1000;
    return {
      setup: setup.key,
      processes,
      rate: samples / seconds,
      perCpu: samples / cpu,
      cores: cpu / seconds,
      brokerPerM: (b.broker - a.broker) / (samples / 1e6),
      wholeSeconds: (Date.now() - t0) / 1000,
      wholeCpu: whole,
      exact: sink.sum('bench_rows_total') === expected,
      load: loadavg()[0]!,
    };
  } finally {
    await stopChild(relay.child, 30_000);
    await sink.close();
  }
}

interface ScaleSetup {
  key: 'one' | 'two' | 'burner';
  name: string;
  relays: number;
  processes: number;
}

const SCALE_SETUPS: ScaleSetup[] = [
  { key: 'one', name: 'one relay', relays: 1, processes: 1 },
  { key: 'two', name: 'two relays', relays: 2, processes: 1 },
  { key: 'burner', name: 'one relay, the other core busy', relays: 1, processes: 1 },
];

interface ScaleRun {
  setup: string;
  key: ScaleSetup['key'];
  relays: number;
  /** lag-0 CPU-s and records consumed by each relay (the split of the work) */
  perRelay: { cpu: number; consumed: number }[];
  /** the machine's steal time in the lag-0 window (the hypervisor running something else) */
  steal: number;
  /** CPU-s of the burner in the lag-0 window (not counted in the relays') */
  burnerCpu: number;
  startCpu: number;
  /** the warm-up pushes (WARMUP messages) after the group settled */
  warmupCpu: number;
  idleCpuPerS: number;
  /** from the first record produced to the exact total in the sink */
  cpu: number;
  seconds: number;
  /** from the first record produced to the last consumed */
  lag0Cpu: number;
  lag0Seconds: number;
  brokerCpu: number;
  /** assignments and restores from a checkpoint after the group settled */
  assignments: number;
  restores: number;
  partials: number;
  exact: boolean;
  /** the machine's 1-minute load average at the end of the run (other work on it) */
  load: number;
}

/** Every relay ready, every partition owned once, and no new assignment for 3 s. */
async function settle(relays: Relay[], partitions: number): Promise<void> {
  const assigned = () => relays.reduce((n, r) => n + r.child.logs.filter((l) => l.msg === 'partitions assigned').length, 0);
  let last = -1;
  let since = Date.now();
  const deadline = Date.now() + 180_000;
  for (;;) {
    const n = assigned();
    if (n !== last) [last, since] = [n, Date.now()];
    const ready = await Promise.all(relays.map(async (r) => (await fetch(`${r.url}/readyz`)).status === 200));
    const owned = (await Promise.all(relays.map(async (r) => sumOf(await scrape(r.url!), 'prom_relay_partitions_owned')))).reduce((a, b) => a + b, 0);
    if (ready.every(Boolean) && owned === partitions && Date.now() - since >= 3000) return;
    if (Date.now() > deadline) throw new Error(`group not settled in 180 s: ${owned} of ${partitions} partitions owned, ready ${ready.join(',')}`);
    await sleep(500);
  }
}

/** One setup of a scale-out round as it runs: its own topic, group, sink and relays. */
interface Running {
  setup: ScaleSetup;
  topic: string;
  sink: RwSink;
  relays: Relay[];
}

/**
 * One scale-out round of `setups`, side by side when there are several (BENCH_SCALEOUT_PAIRED): each on its own topic,
 * group and sink, every step taken for all of them at once — the warm-ups produced together, the relays stopped
 * together while the backlogs are produced, continued at the same moment — so other work on the machine falls on the
 * setups alike; each setup's CPU is its own relays' (the broker's and the steal time are the round's, shared).
 */
async function scaleRuns(cli: string, kafka: KafkaServer, brokerPid: number | undefined, messages: kafkajs.Message[], expected: number, setups: ScaleSetup[], tag: string): Promise<ScaleRun[]> {
  const running: Running[] = [];
  let burner: Child | undefined;
  const each = <T>(f: (r: Running, i: number) => Promise<T> | T) => Promise.all(running.map(f));
  try {
    for (const setup of setups) {
      const topic = `scale-out-${tag}-${setup.key}`;
      await createTopic(kafka, topic);
      const sink = await startRwSink();
      const r: Running = { setup, topic, sink, relays: [] };
      running.push(r);
      const file = configFile(kafka, topic, `scale-${randomUUID().slice(0, 8)}`, sink, SCALEOUT_FLUSH);
      r.relays = await Promise.all(Array.from({ length: setup.relays }, (_, i) => startAggregate(cli, file, setup.processes, `${setup.name} #${i + 1}`, true, i)));
    }
    // The partials topic has as many partitions as the input topic.
    await each((r) => settle(r.relays, 2 * PARTITIONS));
    const logsAt = running.map((r) => r.relays.map((x) => x.child.logs.length));
    const start = running.map((r) => treeOf(r.relays));
    const consumedEach = async (r: Running) => Promise.all(r.relays.map(async (x) => sumOf(await scrape(x.url!), 'prom_relay_messages_consumed_total', { topic: r.topic })));
    const consumedNow = async (r: Running) => (await consumedEach(r)).reduce((a, b) => a + b, 0);
    // Warm-up: the first pushes of every producer (every relay process compiles its hot paths; each producer and
    // series is created), consumed before the measured part: a cost per process, measured apart like the start-up.
    await each((r) => produce(kafka, r.topic, messages.slice(0, WARMUP)));
    await each(async (r) => {
      while ((await consumedNow(r)) < WARMUP) await sleep(500);
    });
    const warm = running.map((r) => treeOf(r.relays));
    await sleep(IDLE_S * 1000);
    const cpu0 = running.map((r) => treeOf(r.relays));
    // Read while the relays are idle (after the warm-up): /metrics cannot answer from a stopped or busy relay in time.
    const consumed0 = await each(consumedEach);
    // BENCH_SCALEOUT_BACKLOG=stopped: the relays are stopped (SIGSTOP; well inside the group's 30 s session) while the
    // backlog is produced, and continued once every reading below is taken: they consume a backlog already in Kafka,
    // at their own pace, the producer gone.
    const stopped = BACKLOG === 'stopped' ? running.flatMap((r) => r.relays.flatMap((x) => [...treeCpu(x.child.pid).keys()])) : [];
    let producing: Promise<unknown> | undefined;
    const names = setups.map((s) => s.name).join(' and ');
    if (stopped.length > 0) {
      const stoppedAt = Date.now();
      for (const pid of stopped) process.kill(pid, 'SIGSTOP');
      try {
        await each((r) => produce(kafka, r.topic, messages.slice(WARMUP)));
      } catch (err) {
        for (const pid of stopped) process.kill(pid, 'SIGCONT');
        throw err;
      }
      log(`${names}: backlog produced in ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s, the relays stopped meanwhile`);
      producing = Promise.resolve();
    }
    // The other core kept busy from here to the exact total (started after the idle reading, which it would inflate).
    if (setups.some((s) => s.key === 'burner')) {
      burner = startBurner();
      await sleep(200);
    }
    const relay0 = running.map((r) => r.relays.map((x) => treeOf([x])));
    const fetch0 = running.map((r) => r.relays.map(fetchStats));
    const us0 = running.map((r) => r.relays.map((x) => userSystem(x.child.pid)));
    const perf = PERF_STAT ? running.map((r) => r.relays.map((x) => perfStat(x.child.pid))) : [];
    if (PERF_STAT) await sleep(300); // perf attached before the window opens
    const burner0 = burner ? cpuSeconds(burner.pid) : 0;
    const steal0 = stealSeconds();
    const cpuStart = running.map((r) => treeOf(r.relays));
    const broker0 = brokerPid ? cpuSeconds(brokerPid) : Number.NaN;
    const t0 = Date.now();
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    producing ??= each((r) => produce(kafka, r.topic, messages.slice(WARMUP)));
    return await each(async (r, k) => {
      const { setup, relays, sink } = r;
      // Lag 0: every record consumed (the relays' /metrics, every 500 ms).
      while ((await consumedNow(r)) < messages.length) await sleep(500);
      const lag0Cpu = cpuBetween(cpuStart[k]!, treeOf(relays));
      const lag0Seconds = (Date.now() - t0) / 1000;
      const steal = stealSeconds() - steal0;
      const burnerCpu = burner && setup.key === 'burner' ? cpuSeconds(burner.pid) - burner0 : 0;
      const consumed1 = await consumedEach(r);
      const perRelay = relays.map((x, i) => ({ cpu: cpuBetween(relay0[k]![i]!, treeOf([x])), consumed: consumed1[i]! - consumed0[k]![i]! }));
      const inWindow = perRelay.reduce((n, p) => n + p.consumed, 0);
      if (inWindow !== messages.length - WARMUP) log(`${setup.name}: ${fmt(inWindow)} records consumed in the window, not ${fmt(messages.length - WARMUP)}: its CPU does not cover the backlog`);
      const counts = await Promise.all((perf[k] ?? []).map((stop) => stop()));
      relays.forEach((x, i) => {
        const [u, sys] = userSystem(x.child.pid);
        const c = counts[i];
        const perfText = c ? `, ${c['context-switches']} context switches, ${c['cpu-migrations']} migrations, ${c['page-faults']} page faults` : '';
        log(`${x.child.name} to lag 0: user ${(u - us0[k]![i]![0]).toFixed(2)} s, system ${(sys - us0[k]![i]![1]).toFixed(2)} s${perfText}${FETCH_STATS ? `; ${fetchStatsBetween(fetch0[k]![i], fetchStats(x))}` : ''}`);
      });
      await producing;
      await untilExact(sink, expected, relays, setup.name);
      const cpu = cpuBetween(cpuStart[k]!, treeOf(relays));
      const seconds = (Date.now() - t0) / 1000;
      const brokerCpu = brokerPid ? cpuSeconds(brokerPid) - broker0 : Number.NaN;
      const after = relays.flatMap((x, i) => x.child.logs.slice(logsAt[k]![i]));
      const texts = await Promise.all(relays.map((x) => scrape(x.url!)));
      const partials = texts.reduce((n, t) => n + sumOf(t, 'prom_relay_partials_published_total'), 0);
      const flushes = texts.reduce((n, t) => n + sumOf(t, 'prom_relay_flushes_total'), 0);
      const checkpointBytes = texts.reduce((n, t) => n + sumOf(t, 'prom_relay_checkpoint_bytes'), 0);
      log(`${setup.name}: ${flushes} flushes since start, last checkpoints ${fmt(checkpointBytes / 1024)} KiB in all`);
      return {
        setup: setup.name,
        key: setup.key,
        relays: setup.relays,
        perRelay,
        steal,
        burnerCpu,
        startCpu: [...start[k]!.values()].reduce((a, b) => a + b, 0),
        warmupCpu: cpuBetween(start[k]!, warm[k]!),
        idleCpuPerS: cpuBetween(warm[k]!, cpu0[k]!) / IDLE_S,
        cpu,
        seconds,
        lag0Cpu,
        lag0Seconds,
        brokerCpu,
        assignments: after.filter((l) => l.msg === 'partitions assigned').length,
        restores: after.filter((l) => l.msg === 'partition restored' && l.from === 'checkpoint').length,
        partials,
        exact: sink.sum('bench_rows_total') === expected,
        load: loadavg()[0]!,
      };
    });
  } finally {
    if (burner) await stopChild(burner, 5_000);
    await Promise.all(running.flatMap((r) => r.relays.map((x) => stopChild(x.child, 30_000))));
    await Promise.all(running.map((r) => r.sink.close()));
  }
}

async function main(): Promise<void> {
  // BENCH_RELAY_CLI: an already built relay (e.g. a patched copy of .cache/bench-relay) instead of bundling the tree.
  const cli = process.env.BENCH_RELAY_CLI ?? (await bundleRelay());
  log('starting Kafka');
  // Kafka's own default initial rebalance delay (the test broker sets 0): members that start together (the workers of
  // `--processes N`, relays started at once) are assigned together, not one after the other with a rebalance between.
  const kafka = await startKafka({ heap: '1g', startTimeoutMs: 300_000, brokerConfig: { 'group.initial.rebalance.delay.ms': 3000 } });
  const brokerPid = findPid('java', 'kafka.Kafka', dirname(kafka.logFile));
  if (PIN_OTHERS !== undefined) {
    // Every thread of the broker and of this process (the producer of the backlog) on those CPUs.
    for (const pid of [brokerPid, process.pid]) if (pid !== undefined) execFileSync('taskset', ['-a', '-p', '-c', PIN_OTHERS, String(pid)], { stdio: 'ignore' });
  }
  const cores: CoresRun[] = [];
  const scale: ScaleRun[] = [];
  try {
    const { messages, expected } = textWorkload(PRODUCERS, PUSHES);
    // The scale-out part's own: a longer warm-up (WARMUP_PUSHES) before the same backlog.
    const scaleWork = SCALEOUT_PUSHES === PUSHES ? { messages, expected } : textWorkload(PRODUCERS, SCALEOUT_PUSHES);
    const samples = messages.length * 100;
    if (PARTS.has('cores')) {
      const topic = 'scale-cores';
      await createTopic(kafka, topic);
      log(`filling ${topic}: ${fmt(messages.length)} messages, ${fmt(samples)} samples`);
      await produce(kafka, topic, messages);
      for (let round = 0; round < ROUNDS; round++) {
        // The order rotates from round to round: every setup runs first, last and in the middle.
        const order = [...CORE_SETUPS.slice(round % CORE_SETUPS.length), ...CORE_SETUPS.slice(0, round % CORE_SETUPS.length)];
        for (const setup of order) {
          const r = await coresRun(cli, kafka, brokerPid, topic, messages.length, expected, setup);
          cores.push(r);
          log(`#${round + 1} ${setup.key}: ${fmt(r.rate)} samples/s, ${fmt(r.perCpu)} samples/CPU-s, ${r.cores.toFixed(2)} cores busy, broker ${r.brokerPerM.toFixed(3)} CPU-s/M; whole ${r.wholeSeconds.toFixed(1)} s ${r.wholeCpu.toFixed(2)} CPU-s, exact ${r.exact}`);
        }
      }
    }
    if (PARTS.has('scaleout')) {
      const setups = SCALE_SETUPS.filter((s) => SCALEOUT_SETUPS.has(s.key));
      // Paired (default): one relay and two relays side by side in one step; the contention control on its own.
      const steps = PAIRED ? [setups.filter((s) => s.key !== 'burner'), ...setups.filter((s) => s.key === 'burner').map((s) => [s])].filter((g) => g.length > 0) : setups.map((s) => [s]);
      for (let round = 0; round < ROUNDS; round++) {
        // The order rotates and reverses from round to round: every step runs first, last and in the middle.
        const order = round % 2 === 0 ? steps : [...steps].reverse();
        for (const step of [...order.slice(round % order.length), ...order.slice(0, round % order.length)]) {
          for (const r of await scaleRuns(cli, kafka, brokerPid, scaleWork.messages, scaleWork.expected, step, `r${round}`)) {
            scale.push(r);
            const split = r.perRelay.map((p) => `${p.cpu.toFixed(2)} CPU-s for ${fmt(p.consumed)}`).join(' + ');
            log(`#${round + 1} ${r.setup}: ${r.cpu.toFixed(2)} CPU-s in ${r.seconds.toFixed(1)} s (lag 0: ${r.lag0Cpu.toFixed(2)} CPU-s in ${r.lag0Seconds.toFixed(1)} s = ${split}; start ${r.startCpu.toFixed(2)}, warm-up ${r.warmupCpu.toFixed(2)}, idle ${r.idleCpuPerS.toFixed(3)}/s), broker ${r.brokerCpu.toFixed(2)}, burner ${r.burnerCpu.toFixed(2)}, steal ${r.steal.toFixed(2)} s, ${r.assignments} assignments, ${r.restores} restores, ${fmt(r.partials)} partials, exact ${r.exact}, load ${r.load.toFixed(1)}`);
          }
        }
      }
    }
    process.stdout.write(section(cores, scale, samples, messages.length, expected, kafka.version, { messages: scaleWork.messages.length, expected: scaleWork.expected }));
  } finally {
    await kafka.stop();
  }
}

function section(
  cores: CoresRun[],
  scale: ScaleRun[],
  samples: number,
  messages: number,
  expected: number,
  kafkaVersion: string,
  scaleWork: { messages: number; expected: number },
): string {
  const cell = (xs: number[], d = 0) => (xs.length === 0 ? '—' : xs.length === 1 ? fmt(xs[0]!, d) : `${fmt(median(xs), d)} (${xs.map((x) => fmt(x, d)).join(', ')})`);
  const out = [
    '## Relay on every core, and two relays against one',
    '',
    `Workload: ${fmt(messages)} text messages of 100 samples (61 counters, 3 histograms of 11 buckets; ${fmt(samples)} samples) from`,
    `${fmt(PRODUCERS)} short-lived producers (${PUSHES} pushes each), keyed as the emitter keys them, on ${PARTITIONS} partitions (Kafka ${kafkaVersion},`,
    'on the same 2-core machine); `prom-relay aggregate` (the working tree bundled as deployed) into a',
    `counting Remote Write sink, checked against ground truth (${fmt(expected)} for \`sum(bench_rows_total)\`). CPU: user + system`,
    'time from /proc of the relay process and its children (the cluster primary and every worker); the broker apart.',
    `Each cell: the median of ${ROUNDS} rounds with every round in brackets; the setups alternate. Command: \`node bench/run.mjs relay-scale\``,
    '(part of `npm run bench`), or `node --conditions=@prom-relay/source --import tsx bench/relay-scale.ts` for the section alone.',
  ];
  if (cores.length) {
    const of = (key: CoreSetup['key'], f: (r: CoresRun) => number) => cores.filter((r) => r.setup === key).map(f);
    const speedup = median(of('2', (r) => r.rate)) / median(of('1', (r) => r.rate));
    const oneCpu = of('1 on one CPU', (r) => r.rate);
    const overOneCpu = median(of('2', (r) => r.rate)) / median(oneCpu);
    out.push(
      '',
      `**Every core** (\`prom-relay aggregate --processes N\`, flush every ${FLUSH}): a fresh group on the pre-filled topic each run; rate and CPU over`,
      "the steady part, from 10 % to 90 % of the backlog consumed (the relay's one `/metrics`, summed over its workers, read",
      'every 250 ms); "whole run": from `relay started` until the sink holds the exact total (start-up rebalances, the last flushes).',
      '',
      '| processes | input samples/s | input samples per relay CPU-s | cores the relay kept busy | broker CPU-s per 1M samples | whole run: wall, relay CPU-s | load average | totals |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...CORE_SETUPS.filter((c) => of(c.key, (r) => r.rate).length > 0).map(
        ({ key: n }) =>
          `| ${n} | ${cell(of(n, (r) => r.rate))} | ${cell(of(n, (r) => r.perCpu))} | ${cell(of(n, (r) => r.cores), 2)} | ${cell(of(n, (r) => r.brokerPerM), 3)} | ${fmt(median(of(n, (r) => r.wholeSeconds)), 1)} s, ${fmt(median(of(n, (r) => r.wholeCpu)), 2)} | ${of(n, (r) => r.load).map((l) => l.toFixed(1)).join(', ')} | ${cores.filter((r) => r.setup === n).every((r) => r.exact) ? 'exact in every round' : 'NOT exact'} |`,
      ),
      '',
      `2 processes ingested ${speedup.toFixed(2)}× the samples per second of 1 process, at ${(median(of('2', (r) => r.perCpu)) / median(of('1', (r) => r.perCpu))).toFixed(2)}× the samples per CPU-second` +
        (oneCpu.length > 0
          ? `; ${overOneCpu.toFixed(2)}× the samples per second of 1 process on one CPU (its one-core rate: goal ≥ 1.6× on 2 cores; by round ${of('2', (r) => r.rate)
              .map((x, i) => (x / (oneCpu[i] ?? Number.NaN)).toFixed(2) + '×')
              .join(', ')}).`
          : ' (goal: ≥ 1.6× on 2 cores).'),
    );
  }
  if (scale.length) {
    const of = (key: ScaleSetup['key'], f: (r: ScaleRun) => number) => scale.filter((r) => r.key === key).map(f);
    const has = (key: ScaleSetup['key']) => scale.some((r) => r.key === key);
    const lag0 = (key: ScaleSetup['key']) => median(of(key, (r) => r.lag0Cpu));
    const burnerNote =
      BURNER === 'mem' ? 'a loop over 64 MiB' : 'an ALU loop that reads no memory';
    out.push(
      '',
      `**Scale-out without waste** (flush every ${SCALEOUT_FLUSH}, the relay's default): relays started on an empty topic (one group), left to settle (every partition of the`,
      `input and partials topics owned, \`/readyz\` 200 on each, no assignment for 3 s: start-up CPU); on its own workload, the same producers pushing ${SCALEOUT_PUSHES} times each (${fmt(scaleWork.messages)} messages, ground truth ${fmt(scaleWork.expected)}); then a warm-up,`,
      `the first ${WARMUP_PUSHES === 1 ? 'push' : `${WARMUP_PUSHES} pushes`} of each producer (${fmt(WARMUP)} messages: every process compiles its hot paths, every producer and series is created; warm-up CPU),`,
      `idle ${IDLE_S} s (idle CPU), then the other ${fmt(scaleWork.messages - WARMUP)} messages produced by the bench (its CPU not counted) and the relays'`,
      "CPU summed from the first of them to lag 0 (every record consumed: the relays' /metrics every 500 ms) and on to the exact total in the sink.",
      ...(PAIRED
        ? [
            'In each round one relay and two relays ran side by side, each on its own topic, group and sink (every step for both at once: warm-ups, the backlogs produced, the relays continued at the',
            "same moment), so other work on the shared machine fell on both alike; each setup's CPU is its own relays'. Broker CPU and steal are the round's (both setups').",
          ]
        : []),
      ...(BACKLOG === 'stopped'
        ? ['Here the backlog was produced while the relays were stopped (SIGSTOP), and their CPU summed from the moment they were continued: they consume a backlog already in Kafka, with no producer beside them (`BENCH_SCALEOUT_BACKLOG=stopped`).']
        : []),
      ...(has('burner')
        ? [
            `"The other core busy": one relay while a burner process (${burnerNote}, its CPU not counted) keeps the second core busy from the`,
            'first record to the exact total: a contention control (is the relay slower with the other core busy?), without a second relay.',
          ]
        : []),
      ...(PIN || PIN_OTHERS || BURNER_PIN ? [`Pinned (taskset): relays ${PIN ? `on CPU ${PIN.join(', ')} (relay i on the i-th)` : 'unpinned'}, broker and producer ${PIN_OTHERS ?? 'unpinned'}, burner ${BURNER_PIN ?? 'unpinned'}.`] : []),
      '',
      '| setup | relay CPU-s to lag 0 | input samples per relay CPU-s | relay CPU-s to the exact total in the sink | wall to lag 0, to exact | broker CPU-s | start-up, warm-up CPU-s (all relays) | idle CPU-s per s | assignments / restores after settling | partials published | load average | totals |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...SCALE_SETUPS.filter((s) => has(s.key)).map(
        ({ key, name }) =>
          `| ${name} | ${cell(of(key, (r) => r.lag0Cpu), 2)} | ${fmt(((scaleWork.messages - WARMUP) * 100) / lag0(key))} | ${cell(of(key, (r) => r.cpu), 2)} | ${fmt(median(of(key, (r) => r.lag0Seconds)), 1)} s, ${fmt(median(of(key, (r) => r.seconds)), 1)} s | ${fmt(median(of(key, (r) => r.brokerCpu)), 2)} | ${fmt(median(of(key, (r) => r.startCpu)), 2)}, ${fmt(median(of(key, (r) => r.warmupCpu)), 2)} | ${fmt(median(of(key, (r) => r.idleCpuPerS)), 3)} | ${of(key, (r) => r.assignments).join(', ')} / ${of(key, (r) => r.restores).join(', ')} | ${fmt(median(of(key, (r) => r.partials)))} | ${of(key, (r) => r.load).map((l) => l.toFixed(1)).join(', ')} | ${scale.filter((r) => r.key === key).every((r) => r.exact) ? 'exact in every round' : 'NOT exact'} |`,
      ),
      '',
    );
    const lines: string[] = [];
    if (has('one') && has('two')) {
      // A round's two setups run side by side (PAIRED) or one after the other: their ratio is a paired reading.
      const ratios = of('two', (r) => r.lag0Cpu).map((c, i) => c / of('one', (r) => r.lag0Cpu)[i]!);
      const byRound = ratios.map((x) => x.toFixed(2) + '×');
      lines.push(
        `Two relays used ${(lag0('two') / lag0('one')).toFixed(2)}× the CPU of one relay alone to consume the backlog (lag 0, by the medians; goal: ≤ 1.1×; by round ${byRound.join(', ')}: ${median(ratios).toFixed(2)}× by the median of the rounds), ${(median(of('two', (r) => r.cpu)) / median(of('one', (r) => r.cpu))).toFixed(2)}× to the exact total in the sink.`,
      );
    }
    if (has('two') && has('burner')) {
      const byRound = of('two', (r) => r.lag0Cpu).map((c, i) => (c / of('burner', (r) => r.lag0Cpu)[i]!).toFixed(2) + '×');
      lines.push(
        `Against one relay with the other core busy (a contention control, no second relay): ${(lag0('two') / lag0('burner')).toFixed(2)}× (by round ${byRound.join(', ')}), ${(median(of('two', (r) => r.cpu)) / median(of('burner', (r) => r.cpu))).toFixed(2)}× to the exact total.`,
      );
    }
    if (has('one') && has('two')) {
      // Other work on the machine only ever adds CPU to a round: the cheapest round of each setup is its least disturbed.
      const least = (key: ScaleSetup['key']) => Math.min(...of(key, (r) => r.lag0Cpu));
      lines.push(`The cheapest round of each (other work on the machine only adds CPU): two relays ${least('two').toFixed(2)}, one relay ${least('one').toFixed(2)} CPU-s (${(least('two') / least('one')).toFixed(2)}×).`);
    }
    if (has('one') && has('burner')) lines.push(`The busy core alone made one relay use ${(lag0('burner') / lag0('one')).toFixed(2)}× its CPU to lag 0.`);
    lines.push(
      `Start-up and warm-up are per process and measured apart; the idle column is the flush cycle with this state (every ${SCALEOUT_FLUSH}: checkpoint, partials of the series changed, Remote Write of the owned ones), paid per relay per second.`,
    );
    out.push(lines.join(' '));
  }
  return `${out.join('\n')}\n`;
}

main().catch((err: unknown) => {
  log(`failed: ${(err as Error)?.stack ?? String(err)}`);
  process.exit(1);
});
