/**
 * Docs are code: every fenced block of README.md, apps/<app>/README.md, packages/<pkg>/README.md,
 * apps/relay/src/<stage>/README.md, infra/README.md and docs/*.md runs here as written, against a real Kafka
 * (the test run's broker), a real relay (a child process) and a real Prometheus, and each run checks what arrived.
 *
 * Substitution rule: the only change made to a block, and to the root files its commands read (relay.yaml), is
 * its addresses:
 *   localhost:9092             -> the test run's Kafka broker (testKafkaBrokers()[0])
 *   http://localhost:9090      -> a Prometheus 2.42 started for this file
 *   http://localhost:9464      -> the relay this file runs on the docs' topic (prom-relay.metrics, 5 partitions)
 *   https://prom.example.com   -> that relay too (its Remote Write receive stands in for a managed Prometheus)
 *   http://pushgateway:9091    -> a Pushgateway started for this file
 *   --kafka-port 9092, --prometheus-port 9090, --pushgateway-port 9091 (`npm run stack`) -> free ports
 * The relay's own port (9464 by default, never written in a command) is a free one: every command runs with
 * PROM_RELAY_SERVER__PORT=0 and PROM_RELAY_SERVER__HOST=127.0.0.1, the env override apps/relay/README.md documents.
 *
 * Where: the blocks of one markdown file run in order, in one fresh directory standing for the repository root
 * (symlinks to the root's entries; relay.yaml copied with the substitution), so what they write (relay.yaml,
 * body.snappy, push.prom) never touches the working tree. `node_modules/.bin` is on PATH, as after installing the
 * bins. Before any block, `npx turbo run build`: the root README's precondition for the bins.
 *
 * Which blocks: `text` blocks are output samples and diagrams. Every other block must be claimed by exactly one
 * entry of RUNNERS below (which runs it and checks its effect) or be preceded by `<!-- not-run: reason -->`; a
 * block that is neither fails here, so a new doc command cannot slip in untested. Shell blocks run command by
 * command (bash, pipefail, each must exit 0); a `prom-relay run` is started, checked (/healthz, /metrics) and
 * stopped with SIGTERM (exit 0). TS examples run with tsx from the stand-in root (imports resolve to the
 * workspace packages' sources), except the infra testing example, which only runs inside vitest: it is imported.
 *
 * Order: README.md and apps/relay/README.md come first and start relays in the default group on the docs' topic
 * while it is still empty; the shared relay starts after them, so no two relays ever write the same series.
 * `npm run demo` and infra/README.md's first example bring their own servers and run beside the others.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decodeWriteRequestSnappy, encodeWriteRequestSnappy } from '@prom-relay/codec';
import { createKafkaTopic, startPrometheus, startPushgateway, type PrometheusServer, type PushgatewayServer } from '@prom-relay/infra';
import { testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { ConfigResourceTypes, Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { eventually, startRelayProcess, stopRelay, writeRelayConfig, type RelayProcess } from '../e2e/harness.js';
import { removeStandIn, runCommand, standInRoot, startService, substitute, type AddressRule, type CommandResult, type Service } from './doc-shell.js';
import { docBlocks, shellCommands, SHELL_LANGS, type DocBlock } from './markdown-blocks.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const TOPIC = 'prom-relay.metrics'; // the docs' topic (the relay's default)
const BLOCKS = docBlocks(REPO);
const SERVICE = /\b(prom-relay|cli\.ts) run\b/;

// ---- the stack the blocks run against -------------------------------------------------------------------------

let brokers: string[];
let prom: PrometheusServer;
let pgw: PushgatewayServer;
let admin: Admin;
let producer: Producer;
let sharedRelay: Promise<RelayProcess> | undefined;
let dlqTopic: string;
const standIns = new Map<string, string>();
const background = new Map<Runner, Promise<void>>();

/** The relay of the data examples: consumes the docs' topic, writes to the test Prometheus. */
function relay(): Promise<RelayProcess> {
  sharedRelay ??= startRelayProcess(
    writeRelayConfig({
      brokers,
      topic: TOPIC,
      groupId: testTopicName('docs-relay'),
      dlqTopic,
      checkpointTopic: testTopicName('docs-checkpoints'),
      remoteWriteUrl: prom.remoteWriteUrl,
    }),
  );
  return sharedRelay;
}

const ADDRESSES: AddressRule[] = [
  { from: 'localhost:9092', to: () => brokers[0]! },
  { from: 'http://localhost:9090', to: () => prom.url },
  { from: 'http://localhost:9464', to: async () => (await relay()).url },
  { from: 'https://prom.example.com', to: async () => (await relay()).url },
  { from: 'http://pushgateway:9091', to: () => pgw.url },
];

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${join(REPO, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
  PROM_RELAY_SERVER__PORT: '0',
  PROM_RELAY_SERVER__HOST: '127.0.0.1',
  KAFKAJS_NO_PARTITIONER_WARNING: '1',
});

/** The stand-in root of one markdown file (created on first use). */
function cwdOf(file: string): string {
  let dir = standIns.get(file);
  if (dir === undefined) {
    // relay.yaml names Kafka and Prometheus, known from the start: the relay is never in a copied file.
    const rules = [ADDRESSES[0]!, ADDRESSES[1]!].map((r) => [r.from, String(r.to())] as const);
    dir = standInRoot(REPO, (text) => rules.reduce((t, [from, to]) => t.split(from).join(to), text));
    standIns.set(file, dir);
  }
  return dir;
}

// ---- running blocks -------------------------------------------------------------------------------------------

async function sh(block: DocBlock, command: string, timeoutMs = 120_000): Promise<CommandResult> {
  const result = await runCommand(await substitute(command, ADDRESSES), { cwd: cwdOf(block.file), env: env(), timeoutMs });
  if (result.code !== 0) {
    throw new Error(`${block.file}:${block.line}: \`${result.command}\` exited ${result.code}\nstdout: ${result.stdout.slice(-3000)}\nstderr: ${result.stderr.slice(-3000)}`);
  }
  return result;
}

/** A `prom-relay run` as written: it starts, answers /healthz and /metrics, and stops with exit 0 on SIGTERM. */
async function checkRelayService(svc: Service): Promise<Record<string, unknown>> {
  try {
    const started = await svc.waitForLog((l) => l.msg === 'relay started', 90_000);
    const url = String(started.url);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('prom_relay_');
    return started;
  } finally {
    const { code, signal } = await svc.stop();
    const out = svc.output().slice(-3000);
    // npx's npm dies of the signal without waiting for the relay; anything else must exit 0 itself.
    if (!(signal === 'SIGTERM' && /^npx /.test(svc.command))) expect({ code, signal }, out).toEqual({ code: 0, signal: null });
    const shutdown = svc.logs.findIndex((l) => l.msg === 'shutting down');
    expect(shutdown, out).toBeGreaterThanOrEqual(0);
    expect(svc.logs.slice(shutdown).filter((l) => Number(l.level) >= 50), out).toEqual([]);
    expect(svc.logs.some((l) => l.msg === 'relay stopped'), out).toBe(true);
  }
}

interface RunResult extends CommandResult {
  /** for a service: its 'relay started' log line */
  started?: Record<string, unknown>;
}

/** Runs every command of a shell block in order; a service is started, checked and stopped. */
async function runShellBlock(block: DocBlock): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const command of shellCommands(block)) {
    if (SERVICE.test(command)) {
      const svc = startService(await substitute(command, ADDRESSES), { cwd: cwdOf(block.file), env: env() });
      const started = await checkRelayService(svc);
      results.push({ command, code: 0, stdout: svc.output(), stderr: '', started });
    } else {
      results.push(await sh(block, command));
    }
  }
  return results;
}

function find(results: RunResult[], pattern: RegExp): RunResult {
  const found = results.find((r) => pattern.test(r.command));
  if (!found) throw new Error(`no command matching ${pattern} in the block: ${results.map((r) => r.command).join(' ;; ')}`);
  return found;
}

/** A TS example as a program: `node --conditions=@prom-relay/source --import tsx <file>` from the stand-in root. */
async function runTs(block: DocBlock): Promise<CommandResult> {
  const cwd = cwdOf(block.file);
  const file = join(cwd, `example-${block.file.replace(/\W+/g, '-')}-${block.line}.ts`);
  writeFileSync(file, await substitute(block.text, ADDRESSES));
  return sh(block, `node --conditions=@prom-relay/source --import tsx ${file}`);
}

// ---- checking what arrived ------------------------------------------------------------------------------------

async function promValue(query: string): Promise<number | undefined> {
  const vector = await prom.query(query);
  if (vector.length > 1) throw new Error(`${query} answers ${vector.length} series: ${JSON.stringify(vector)}`);
  return vector[0]?.value;
}

/** Waits until Prometheus answers `want` for `query` (a single series). */
async function expectValue(query: string, want: number, timeoutMs = 30_000): Promise<void> {
  const got = await eventually(() => promValue(query), (v) => v === want, timeoutMs, 300);
  expect(got, query).toBe(want);
}

/** Every raw sample of the series: never lower than the one before (one writer, exact totals). */
async function expectNeverDecreases(selector: string): Promise<void> {
  for (const s of await prom.querySeries(`${selector}[10m]`)) {
    const values = s.samples.map((x) => x.value);
    for (let i = 1; i < values.length; i++) expect(values[i]!, `${selector} went ${values.join(', ')}`).toBeGreaterThanOrEqual(values[i - 1]!);
  }
}

async function highWatermarks(topic: string): Promise<number[]> {
  // A topic created a moment ago can answer NOT_LEADER until the admin's metadata catches up: retry for a while.
  for (let attempt = 1; ; attempt++) {
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
    } catch (err) {
      if (attempt >= 20 || !(err as { retriable?: boolean }).retriable) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** How many messages a send added to each partition it wrote to: `{ partition: count }`. */
async function messagesWritten(topic: string, send: () => Promise<unknown>): Promise<Record<number, number>> {
  const before = await highWatermarks(topic);
  await send();
  const after = await highWatermarks(topic);
  return Object.fromEntries(after.flatMap((h, p) => (h > before[p]! ? [[p, h - before[p]!]] : [])));
}

interface ReadMessage {
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers: string[];
}

/** The messages between two sets of high watermarks, read with `kcat -C -J` (a JSON envelope per line). */
async function messagesBetween(block: DocBlock, topic: string, from: number[], to: number[]): Promise<ReadMessage[]> {
  const out: ReadMessage[] = [];
  for (let p = 0; p < to.length; p++) {
    const count = to[p]! - from[p]!;
    if (count <= 0) continue;
    const { stdout } = await sh(block, `kcat -C -b ${brokers[0]} -t ${topic} -p ${p} -o ${from[p]} -c ${count} -e -q -J`);
    out.push(...stdout.trim().split('\n').map((l) => JSON.parse(l) as ReadMessage));
  }
  return out;
}

/** What a program's `console.log(x); // out` lines (or `console.log(x)` followed by a `// out` line) promise it prints. */
function promisedOutput(text: string): string[] {
  const lines = text.split('\n');
  return lines.flatMap((l, i) => {
    if (!l.includes('console.log(')) return [];
    const promise = /\);\s*\/\/\s*(.+)$/.exec(l) ?? /^\s*\/\/\s*(.+)$/.exec(lines[i + 1] ?? '');
    if (!promise) throw new Error(`console.log without the output it promises (a // comment): ${l}`);
    return [promise[1]!.trim()];
  });
}

const jsonOf = (command: string): unknown => JSON.parse(/echo '([^']*)'/.exec(command)![1]!);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

function refused(port: number): Promise<boolean> {
  return new Promise<boolean>((res) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), res(false)));
    s.once('error', () => res(true));
  });
}

/** `npm run stack` as a person runs it: in the foreground, in its own process group, stopped with Ctrl-C (SIGINT). */
function startStack(command: string, cwd: string) {
  const child = spawn('bash', ['-c', `exec ${command}`], { cwd, env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const closed = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // gone
    }
  };
  return { output: () => out, closed, signal };
}

// ---- one runner per block: how it runs and what it must have done ---------------------------------------------

interface Runner {
  name: string;
  /** the markdown file */
  file: string;
  claims(block: DocBlock): boolean;
  /** runs beside the others from the start (it brings its own servers) */
  background?: boolean;
  timeoutMs?: number;
  run(block: DocBlock): Promise<void>;
}

const RUNNERS: Runner[] = [
  {
    name: 'the demo',
    file: 'README.md',
    claims: ({ text: t }) => /npm run demo/.test(t),
    background: true,
    timeoutMs: 300_000,
    async run(block) {
      const [demo] = await runShellBlock(block);
      const summary = /^(\d+)\/(\d+) series exact/m.exec(demo!.stdout);
      expect(summary, demo!.stdout).not.toBeNull();
      expect(Number(summary![2])).toBeGreaterThan(0);
      expect(summary![1], demo!.stdout).toBe(summary![2]);
      expect(demo!.stdout).not.toContain('DIFFERS');
    },
  },
  {
    name: 'the command-line tools from the repository root',
    file: 'README.md',
    claims: ({ text: t }) => t.includes('prom-codec encode') && t.includes('prom-relay check-config'),
    async run(block) {
      const results = await runShellBlock(block);
      const roundTrip = find(results, /prom-codec encode/);
      expect(JSON.parse(roundTrip.stdout)).toEqual(jsonOf(roundTrip.command));
      const config = parseYaml(find(results, /check-config/).stdout) as { kafka: { brokers: string[] }; remote_write: { url: string } };
      expect(config.kafka.brokers).toEqual(brokers); // the root relay.yaml, read as written
      expect(config.remote_write.url).toBe(prom.remoteWriteUrl);
      const run = find(results, /prom-relay run/);
      expect(run.started).toMatchObject({ topics: [TOPIC], group: 'prom-relay' });
    },
  },
  {
    name: 'the relay README quick start',
    file: 'apps/relay/README.md',
    claims: ({ text: t }) => t.includes('cat > relay.yaml'),
    async run(block) {
      const results = await runShellBlock(block);
      const config = parseYaml(find(results, /check-config/).stdout) as { kafka: { brokers: string[]; topics: string[] }; remote_write: { url: string } };
      expect(config.kafka).toMatchObject({ brokers, topics: [TOPIC] });
      expect(config.remote_write.url).toBe(prom.remoteWriteUrl);
      // `# prom-relay <version> (node <version>)`
      expect(find(results, /prom-relay --version/).stdout).toMatch(/^prom-relay \d+\.\d+\.\d+\S* \(node v\d+\.\d+\.\d+\)\n$/);
      const runs = results.filter((r) => SERVICE.test(r.command));
      expect(runs.length).toBeGreaterThanOrEqual(2); // the installed bin and the one from source
      for (const r of runs) expect(r.started).toMatchObject({ topics: [TOPIC], group: 'prom-relay' });
    },
  },
  {
    name: 'the codec example',
    file: 'packages/codec/README.md',
    claims: ({ text: t }) => t.includes('encodeWriteRequestSnappy') && t.includes('parseExposition('),
    async run(block) {
      const promised = promisedOutput(block.text);
      expect(promised.length).toBeGreaterThan(0);
      const { stdout } = await runTs(block);
      expect(stdout.trim().split('\n')).toEqual(promised);
    },
  },
  {
    name: 'the prom-codec CLI',
    file: 'packages/codec/README.md',
    claims: ({ text: t }) => t.includes('npx prom-codec decode < body.snappy'),
    async run(block) {
      const results = await runShellBlock(block);
      const input = jsonOf(find(results, /prom-codec encode/).command) as { timeseries: { labels: Record<string, string> }[] };
      expect(JSON.parse(find(results, /prom-codec decode/).stdout)).toEqual(input);
      const body = readFileSync(join(cwdOf(block.file), 'body.snappy'));
      expect(decodeWriteRequestSnappy(body).timeseries[0]!.labels).toEqual(input.timeseries[0]!.labels);
    },
  },
  {
    name: 'the emitter example',
    file: 'packages/emitter/README.md',
    claims: ({ lang, text: t }) => lang === 'ts' && t.includes('createEmitter('),
    async run(block) {
      await relay();
      await runTs(block);
      await expectValue('rows_written_total{job="nightly-export",table=""}', 120);
      await expectValue('rows_deleted_total{job="nightly-export"}', 3);
    },
  },
  {
    name: 'the push-client example',
    file: 'packages/push-client/README.md',
    claims: ({ text: t }) => t.includes('new RemoteWriteClient(') && t.includes('new Pushgateway('),
    async run(block) {
      const { stdout, stderr } = await runTs(block);
      expect(stdout.trim()).toBe('success'); // pushed.status; the failure and retryable branches print nothing
      expect(stderr).toBe('');
      await expectValue('rows_written_total{job="export"}', 120); // remote write into the relay, then Prometheus
      expect(await pgw.metrics()).toMatch(/^jobs_done_total\{instance="host-1",job="nightly-export"\} 1$/m);
    },
  },
  {
    name: 'the infra example (its own servers)',
    file: 'infra/README.md',
    claims: ({ text: t }) => t.includes('await startKafka()'),
    background: true,
    timeoutMs: 240_000,
    async run(block) {
      const { stdout } = await runTs(block);
      const printed = /\[ '127\.0\.0\.1:(\d+)' \]/.exec(stdout);
      expect(printed, stdout).not.toBeNull(); // console.log(kafka.brokers)
      const refused = await new Promise<boolean>((res) => {
        const s = connect(Number(printed![1]), '127.0.0.1');
        s.once('connect', () => (s.destroy(), res(false)));
        s.once('error', () => res(true));
      });
      expect(refused, 'the broker is gone after stop()').toBe(true);
    },
  },
  {
    name: 'npm run stack (its own servers)',
    file: 'infra/README.md',
    claims: ({ text: t }) => t.includes('npm run stack'),
    background: true,
    timeoutMs: 300_000,
    async run(block) {
      const [written] = shellCommands(block);
      expect(shellCommands(block)).toHaveLength(1);
      const ports: Record<string, number> = {};
      let command = written!;
      for (const m of written!.matchAll(/--(kafka|prometheus|pushgateway)-port (\d+)/g)) {
        ports[m[1]!] = await freePort();
        command = command.replace(m[0], `--${m[1]}-port ${ports[m[1]!]}`);
      }
      expect(Object.keys(ports).sort()).toEqual(['kafka', 'prometheus', 'pushgateway']);
      const stackFile = join(REPO, '.stack/stack.json'); // infra's cli writes beside its package: the real root
      const stack = startStack(command, cwdOf(block.file));
      try {
        const up = await eventually(async () => stack.output(), (o) => o.includes('stack up') || o.includes('ERROR'), 240_000, 200);
        expect(up, up).toContain('prom-relay stack up');
        const addresses = JSON.parse(readFileSync(stackFile, 'utf8')) as Record<string, unknown>;
        expect(addresses).toMatchObject({
          kafkaBrokers: [`127.0.0.1:${ports.kafka}`],
          prometheusUrl: `http://127.0.0.1:${ports.prometheus}`,
          remoteWriteUrl: `http://127.0.0.1:${ports.prometheus}/api/v1/write`,
          pushgatewayUrl: `http://127.0.0.1:${ports.pushgateway}`,
        });
        const exports = await runCommand('. .stack/env && echo "$KAFKA_BROKERS $PROMETHEUS_URL $REMOTE_WRITE_URL $PUSHGATEWAY_URL"', { cwd: REPO, env: env(), timeoutMs: 10_000 });
        expect(exports.stdout.trim()).toBe(`127.0.0.1:${ports.kafka} ${String(addresses.prometheusUrl)} ${String(addresses.remoteWriteUrl)} ${String(addresses.pushgatewayUrl)}`);
        // each server answers: Kafka a client, Prometheus a Remote Write (the receiver is on), Pushgateway its /metrics
        const kafka = new Kafka({ brokers: [`127.0.0.1:${ports.kafka}`], clientId: 'docs-stack', logLevel: logLevel.NOTHING }).admin();
        await kafka.connect();
        expect(Array.isArray(await kafka.listTopics())).toBe(true);
        await kafka.disconnect();
        const body = encodeWriteRequestSnappy({ timeseries: [{ labels: { __name__: 'docs_stack_up', job: 'docs' }, samples: [{ value: 1, timestamp: Date.now() }] }] });
        const rw = await fetch(String(addresses.remoteWriteUrl), { method: 'POST', body, headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0' } });
        expect(rw.status).toBe(204);
        expect((await fetch(`${String(addresses.pushgatewayUrl)}/metrics`)).status).toBe(200);
        // a taken port fails with its name
        const taken = await runCommand(`npm run stack -- --kafka-port ${ports.kafka}`, { cwd: cwdOf(block.file), env: env(), timeoutMs: 120_000 });
        expect(taken.code).toBe(1);
        expect(taken.stderr).toMatch(new RegExp(`PROM_RELAY_INFRA_PORT_TAKEN.*${ports.kafka}`));
        expect(existsSync(stackFile), 'the failed start left the running stack its files').toBe(true);
      } finally {
        stack.signal('SIGINT'); // Ctrl-C
        const timer = setTimeout(() => stack.signal('SIGKILL'), 60_000);
        await stack.closed;
        clearTimeout(timer);
      }
      expect(stack.output()).toContain('stopped, data removed');
      expect(existsSync(stackFile)).toBe(false);
      expect(existsSync(join(REPO, '.stack/env'))).toBe(false);
      for (const port of Object.values(ports)) expect(await refused(port), `port ${port} after Ctrl-C`).toBe(true);
    },
  },
  {
    name: 'the infra testing example (inside vitest)',
    file: 'infra/README.md',
    claims: ({ text: t }) => t.includes('createTestTopic('),
    async run(block) {
      const before = new Set(await admin.listTopics());
      const file = join(cwdOf(block.file), `example-infra-testing-${block.line}.ts`);
      writeFileSync(file, await substitute(block.text, ADDRESSES));
      await import(pathToFileURL(file).href);
      const created = (await admin.listTopics()).filter((t) => !before.has(t));
      const meta = await admin.fetchTopicMetadata({ topics: created });
      expect(meta.topics.some((t) => t.name.startsWith('relay-') && t.partitions.length === 4), created.join(', ')).toBe(true);
      const ckpt = created.filter((t) => t.startsWith('ckpt-'));
      const configs = await admin.describeConfigs({ includeSynonyms: false, resources: ckpt.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })) });
      expect(configs.resources.some((r) => r.configEntries.some((e) => e.configName === 'cleanup.policy' && e.configValue === 'compact'))).toBe(true);
    },
  },
  {
    name: 'the JSON lines example',
    file: 'docs/message-format.md',
    claims: ({ text: t }) => t.startsWith('{"name":"rows_written_total"'),
    async run(block) {
      await relay();
      await producer.send({
        topic: TOPIC,
        messages: [
          {
            key: 'job=docs-ndjson',
            value: `${block.text}\n`,
            headers: { 'content-type': 'application/x-ndjson', 'prom-relay-job': 'docs-ndjson', 'prom-relay-producer': randomUUID(), 'prom-relay-seq': '0' },
          },
        ],
      });
      await expectValue('rows_written_total{job="docs-ndjson",table="users"}', 120);
      await expectValue('queue_depth{job="docs-ndjson"}', 7);
      await expectValue('latency_seconds_bucket{job="docs-ndjson",op="put",le="0.1"}', 3);
      await expectValue('latency_seconds_bucket{job="docs-ndjson",op="put",le="1"}', 5);
      await expectValue('latency_seconds_bucket{job="docs-ndjson",op="put",le="+Inf"}', 6);
      await expectValue('latency_seconds_sum{job="docs-ndjson",op="put"}', 2.7);
      await expectValue('latency_seconds_count{job="docs-ndjson",op="put"}', 6);
      await expectValue('rpc_seconds{job="docs-ndjson",quantile="0.99"}', 0.9);
      await expectValue('rpc_seconds_sum{job="docs-ndjson"}', 12.5);
      await expectValue('rpc_seconds_count{job="docs-ndjson"}', 40);
    },
  },
  {
    name: 'the kcat example',
    file: 'docs/message-format.md',
    claims: ({ text: t }) => t.includes('kcat -P'),
    async run(block) {
      await relay();
      const before = await highWatermarks(TOPIC);
      await runShellBlock(block);
      const after = await highWatermarks(TOPIC);
      // The body went as one message (read back as sent; the relay may have forwarded a copy meanwhile). As one
      // message per line (the stdin trap), the TYPE line and the sample part: the sample is untyped, or dropped as a
      // duplicate of seq 0.
      const body = readFileSync(join(cwdOf(block.file), 'push.prom'), 'utf8');
      const sent = await messagesBetween(block, TOPIC, before, after);
      expect(new Set(sent.map((m) => m.payload))).toEqual(new Set([body]));
      await expectValue('rows_written_total{job="nightly-export",table="users"}', 120);

      // The doc's partition facts, on a topic nobody consumes (the relay may forward what it reads): of 5 partitions,
      // kcat's default puts `job=nightly-export` on 1, kafkajs (the emitter's and the ingest's client) on 3, and kcat
      // with `-X partitioner=murmur2_random` where kafkajs does. A file argument is one message.
      const scratch = testTopicName('docs-partitions');
      await createKafkaTopic(brokers, scratch, { partitions: 5 });
      const kcat = (extra: string) => sh(block, `kcat -P -b ${brokers[0]} -t ${scratch} -k 'job=nightly-export' ${extra} push.prom`);
      expect(await messagesWritten(scratch, () => kcat(''))).toEqual({ 1: 1 });
      expect(await messagesWritten(scratch, () => kcat('-X partitioner=murmur2_random'))).toEqual({ 3: 1 });
      const kafkajs = () => producer.send({ topic: scratch, messages: [{ key: 'job=nightly-export', value: 'x' }] });
      expect(await messagesWritten(scratch, kafkajs)).toEqual({ 3: 1 });
    },
  },
  {
    name: 'the same series through the HTTP ingest',
    file: 'docs/message-format.md',
    claims: ({ text: t }) => t.includes('curl --data-binary @push.prom'),
    async run(block) {
      await relay();
      await runShellBlock(block);
      // Two producers of one output series on two partitions: the total is their sum, and it never went down.
      await expectValue('rows_written_total{job="nightly-export",table="users"}', 240);
      await expectNeverDecreases('rows_written_total{job="nightly-export",table="users"}');
    },
  },
];

// ---- the tests ------------------------------------------------------------------------------------------------

const runnable = BLOCKS.filter((b) => b.lang !== 'text' && b.notRun === undefined);
const claimsOf = (b: DocBlock) => RUNNERS.filter((r) => r.file === b.file && r.claims(b));

beforeAll(async () => {
  brokers = testKafkaBrokers();
  const kafka = new Kafka({ brokers, clientId: 'docs-test', logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  dlqTopic = testTopicName('docs-dlq');
  [prom, pgw] = await Promise.all([startPrometheus({ scrapeInterval: '1s' }), startPushgateway(), admin.connect(), producer.connect()]);
  await createKafkaTopic(brokers, TOPIC, { partitions: 5 });
  // The root README: the command-line tools run after `npx turbo run build`.
  const build = await runCommand('npx turbo run build --output-logs=errors-only', { cwd: REPO, env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' }, timeoutMs: 300_000 });
  if (build.code !== 0) throw new Error(`npx turbo run build failed:\n${build.stdout.slice(-4000)}\n${build.stderr.slice(-4000)}`);
}, 360_000);

/** Starts the background blocks once, from the first block test that runs (none when `-t` filters them all out). */
function startBackground(): void {
  for (const block of runnable) {
    const [runner] = claimsOf(block);
    if (runner?.background && claimsOf(block).length === 1 && !background.has(runner)) {
      const p = runner.run(block);
      p.catch(() => undefined); // awaited (and reported) by the block's own test
      background.set(runner, p);
    }
  }
}

afterAll(async () => {
  await Promise.allSettled([...background.values()]);
  if (sharedRelay) await stopRelay(await sharedRelay);
  await Promise.allSettled([producer?.disconnect(), admin?.disconnect(), prom?.stop(), pgw?.stop()]);
  for (const dir of standIns.values()) removeStandIn(dir);
}, 120_000);

describe('every command and example in the docs runs as written', () => {
  it('finds the docs and their blocks', () => {
    const files = new Set(BLOCKS.map((b) => b.file));
    for (const f of ['README.md', 'docs/message-format.md', 'apps/relay/README.md', 'infra/README.md']) expect(files).toContain(f);
    for (const b of BLOCKS.filter((x) => x.notRun !== undefined)) expect(b.notRun!.length, `${b.file}:${b.line}`).toBeGreaterThan(5);
    for (const b of BLOCKS.filter((x) => SHELL_LANGS.has(x.lang))) expect(shellCommands(b).length, `${b.file}:${b.line} has no command`).toBeGreaterThan(0);
  });

  it('every runner has exactly one block', () => {
    for (const r of RUNNERS) {
      const blocks = runnable.filter((b) => b.file === r.file && r.claims(b));
      expect(blocks.map((b) => `${b.file}:${b.line}`), `runner "${r.name}"`).toHaveLength(1);
    }
  });

  // Blocks that run in the background (their own servers) are awaited last, so the others run meanwhile.
  const last = (b: DocBlock) => (claimsOf(b)[0]?.background ? 1 : 0);
  for (const block of [...runnable].sort((a, b) => last(a) - last(b))) {
    const runners = claimsOf(block);
    const runner = runners[0];
    it(`${block.file}:${block.line} (${block.lang || 'no language'})${runner ? `: ${runner.name}` : ''}`, async () => {
      if (runners.length !== 1) {
        throw new Error(
          runners.length === 0
            ? `${block.file}:${block.line}: a ${block.lang || 'plain'} block nobody runs: add a runner to RUNNERS in apps/relay/test/docs/docs-commands.test.ts, make it a \`text\` block (output, diagrams), or put <!-- not-run: reason --> above it`
            : `${block.file}:${block.line} is claimed by ${runners.map((r) => r.name).join(' and ')}`,
        );
      }
      startBackground();
      await (background.get(runner!) ?? runner!.run(block));
    }, runner?.timeoutMs ?? 180_000);
  }

  it('no example message was dead-lettered', async () => {
    await relay();
    expect((await highWatermarks(dlqTopic)).reduce((a, b) => a + b, 0)).toBe(0);
  });
});
