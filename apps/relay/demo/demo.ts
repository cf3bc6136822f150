// The demo: a local Kafka and Prometheus, the relay, and a fleet of short-lived jobs; then what the jobs
// emitted in total beside what Prometheus answers. Run it with `npm run demo` (scripts/demo.sh).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka, startPrometheus } from '@prom-relay/infra';
import { stringify } from 'yaml';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../..');
const TOPIC = 'prom-relay.metrics';
const JOBS = ['nightly-export', 'image-resize', 'invoice-run'];
const RUNS = Number(process.env.DEMO_RUNS ?? 12);
const CONCURRENT = Number(process.env.DEMO_CONCURRENT ?? 4);

const say = (line: string) => process.stdout.write(`${line}\n`);
const tsx = (script: string, args: string[], logFile?: string) => {
  const child = spawn(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', script, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (logFile) {
    const log = createWriteStream(logFile);
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
  }
  return child;
};

interface JobReport {
  job: string;
  instance: string;
  emitted: Record<string, number>;
}

function runJob(brokers: string, job: string, instance: string): Promise<JobReport> {
  return new Promise((res, rej) => {
    const child = tsx(join(HERE, 'job.ts'), [brokers, TOPIC, job, instance, String(3 + Math.floor(Math.random() * 4))]);
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return rej(new Error(`job ${job}/${instance} exited ${code}: ${err}`));
      res(JSON.parse(out.trim().split('\n').at(-1)!) as JobReport);
    });
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'prom-relay-demo-'));
  say('# prom-relay demo');
  say('starting Kafka (KRaft) and Prometheus on loopback ...');
  const [kafka, prom] = await Promise.all([startKafka(), startPrometheus({ scrapeInterval: '1s' })]);
  const relayLog = join(work, 'relay.log');
  let relay: ReturnType<typeof tsx> | undefined;
  try {
    await kafka.createTopic(TOPIC, { partitions: 3 });
    const config = join(work, 'relay.yaml');
    writeFileSync(
      config,
      stringify({
        kafka: { brokers: kafka.brokers, topics: [TOPIC], session_timeout: '6s', heartbeat_interval: '1s' },
        remote_write: { url: prom.remoteWriteUrl },
        flush: { interval: '1s' },
        server: { host: '127.0.0.1', port: 0 },
      }),
    );
    say(`kafka ${kafka.brokers.join(',')} · prometheus ${prom.url} · relay log ${relayLog}`);
    relay = tsx(join(REPO, 'apps/relay/src/cli.ts'), ['run', '--config', config], relayLog);
    const relayExit = new Promise<number | null>((r) => relay!.once('exit', (c) => r(c)));

    say(`running ${RUNS} short-lived jobs (${CONCURRENT} at a time, several instances of each job at once) ...`);
    const reports: JobReport[] = [];
    let next = 0;
    const worker = async () => {
      while (next < RUNS) {
        const i = next++;
        const job = JOBS[i % JOBS.length]!;
        const report = await runJob(kafka.brokers.join(','), job, `worker-${i}`);
        reports.push(report);
        say(`  job ${job.padEnd(15)} instance worker-${String(i).padEnd(3)} done`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENT }, worker));

    // What the jobs emitted, summed per output series (instance is a producer label: aggregated away).
    const expected = new Map<string, number>();
    for (const r of reports) {
      for (const [series, value] of Object.entries(r.emitted)) {
        const [name, labels = ''] = series.split('{');
        const key = `${name}{job="${r.job}"${labels ? `,${labels.slice(0, -1)}` : ''}}`;
        expected.set(key, (expected.get(key) ?? 0) + value);
      }
    }
    const answer = async () => {
      const got = new Map<string, number>();
      for (const s of await prom.query('{__name__=~"demo_rows_processed_total|demo_step_duration_seconds_count"}')) {
        const { __name__: name, job, table } = s.labels;
        got.set(`${name}{job="${job}"${table ? `,table="${table}"` : ''}}`, s.value);
      }
      return got;
    };
    say('waiting for the relay to flush ...');
    let got = await answer();
    const deadline = Date.now() + 30_000;
    while ([...expected].some(([k, v]) => got.get(k) !== v) && Date.now() < deadline) {
      if (relay.exitCode !== null) throw new Error(`relay exited (${relay.exitCode}); see ${relayLog}`);
      await new Promise((r) => setTimeout(r, 500));
      got = await answer();
    }

    say('');
    say('| series | jobs emitted (sum over runs) | Prometheus answers | |');
    say('| --- | ---: | ---: | --- |');
    let ok = 0;
    for (const key of [...expected.keys()].sort()) {
      const want = expected.get(key)!;
      const have = got.get(key);
      const same = have === want;
      if (same) ok++;
      say(`| \`${key}\` | ${want} | ${have ?? '(none)'} | ${same ? 'exact' : 'DIFFERS'} |`);
    }
    say('');
    say(`${ok}/${expected.size} series exact, from ${reports.length} job runs that each started at zero.`);
    relay.kill('SIGTERM');
    await relayExit;
    relay = undefined;
    if (ok !== expected.size) process.exitCode = 1;
  } finally {
    relay?.kill('SIGKILL');
    say('stopping the stack ...');
    await Promise.allSettled([kafka.stop(), prom.stop()]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
