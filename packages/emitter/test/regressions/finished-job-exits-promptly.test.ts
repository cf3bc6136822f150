// Issue 10, item 7: a finished job's process exits within its close deadline (or holdMs, without close()) plus one
// second, whatever the broker does. The fault: a broker that accepts TCP connections and never answers (a real broker
// does not do that, so a fake one it is). It used to hold the job 60 s after close(5000), 30 s without close(), 90 s
// with installExitHooks(). Also a real broker that answered and then froze (SIGSTOP), the case where an idle kafkajs
// connection's 1 ms timer loop kept the process up. And with a real broker close() still delivers everything.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKafka } from '@prom-relay/infra';
import type { KafkaServer } from '@prom-relay/infra';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessageHeaders } from '@prom-relay/emitter';
import { readMessages } from '../kafka-read.js';

const script = fileURLToPath(new URL('../fixtures/finished-job.ts', import.meta.url));
const DEADLINE_MS = 2000;
const SLACK_MS = 1000;
/** what the fixture queues: 10 emit() and 1 push() */
const MESSAGES = 11;

interface JobRun {
  code: number | null;
  /** from the job printing `finished` (its work done, close() about to start) to its process exit */
  afterFinishedMs: number;
  /** from spawn to exit, tsx start-up included */
  wallMs: number;
  stdout: string;
  stderr: string;
  result: { closeResult?: { flushed: boolean; dropped: number }; queued: number; sent: number; dropped: number };
}

interface RunOptions {
  holdMs?: number;
  /** the job delivers one message first, then this runs (and is awaited) before the job goes on (WARM=1 in the fixture) */
  onWarm?: () => Promise<void>;
}

async function runJob(brokers: string, topic: string, mode: 'close' | 'none' | 'hooks' | 'interval', options: RunOptions = {}): Promise<JobRun> {
  const args = ['--conditions=@prom-relay/source', '--import', 'tsx', script, brokers, topic, mode, String(DEADLINE_MS)];
  if (options.holdMs !== undefined) args.push(String(options.holdMs));
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, args, { stdio: 'pipe', env: { ...process.env, WARM: options.onWarm ? '1' : '0' } });
  let finishedAt: number | undefined;
  let warm = false;
  let warmError: unknown;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!warm && options.onWarm && stdout.includes('warm\n')) {
      warm = true;
      options.onWarm().then(
        () => child.stdin.write('go\n'),
        (err: unknown) => {
          warmError = err;
          child.kill();
        },
      );
    }
    if (finishedAt === undefined && stdout.includes('finished\n')) finishedAt = performance.now();
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  if (warmError !== undefined) throw warmError;
  const exitedAt = performance.now();
  const last = stdout.trim().split('\n').pop() ?? '';
  return {
    code,
    afterFinishedMs: exitedAt - (finishedAt ?? spawnedAt),
    wallMs: exitedAt - spawnedAt,
    stdout,
    stderr,
    result: last.startsWith('{') ? (JSON.parse(last) as JobRun['result']) : { queued: -1, sent: -1, dropped: -1 },
  };
}

describe('a finished job under a broker that accepts connections and never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let accepted = 0;
  let brokers: string;

  beforeAll(async () => {
    server = createServer((socket) => {
      accepted++;
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    brokers = `127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it(`close(${DEADLINE_MS}) answers {flushed:false} and the process exits within the deadline plus ${SLACK_MS} ms`, async () => {
    const before = accepted;
    const run = await runJob(brokers, 'prom-relay.metrics', 'close');
    expect(run.stdout).not.toMatch(/UNHANDLED/);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // the job really talked to the silent broker (not a refused connection)
    expect(accepted).toBeGreaterThan(before);
    expect(run.result.closeResult).toEqual({ flushed: false, dropped: MESSAGES });
    expect(run.result).toMatchObject({ queued: 0, sent: 0, dropped: MESSAGES });
    expect(run.afterFinishedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(run.afterFinishedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
  }, 30_000);

  it(`with start() and close(${DEADLINE_MS}) too (the final push does not hold it for holdMs)`, async () => {
    const run = await runJob(brokers, 'prom-relay.metrics', 'interval');
    expect(run.stdout).not.toMatch(/UNHANDLED/);
    expect(run.code).toBe(0);
    // the 11 messages and close()'s final push for start()
    expect(run.result.closeResult).toEqual({ flushed: false, dropped: MESSAGES + 1 });
    expect(run.afterFinishedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
  }, 30_000);

  it(`with installExitHooks({ deadlineMs: ${DEADLINE_MS} }) the process exits within the deadline plus ${SLACK_MS} ms`, async () => {
    const before = accepted;
    const run = await runJob(brokers, 'prom-relay.metrics', 'hooks');
    expect(run.stdout).not.toMatch(/UNHANDLED/);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(accepted).toBeGreaterThan(before);
    // the hook closed the emitter: what could not be delivered is counted
    expect(run.result).toMatchObject({ queued: 0, sent: 0, dropped: MESSAGES });
    expect(run.afterFinishedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(run.afterFinishedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
  }, 30_000);

  it(`without close() the process is held at most holdMs (${DEADLINE_MS} ms here) plus ${SLACK_MS} ms`, async () => {
    const before = accepted;
    const run = await runJob(brokers, 'prom-relay.metrics', 'none', { holdMs: DEADLINE_MS });
    expect(run.stdout).not.toMatch(/UNHANDLED/);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(accepted).toBeGreaterThan(before);
    // nothing closed the emitter: the messages are still queued when the process ends (documented)
    expect(run.result).toMatchObject({ queued: MESSAGES, sent: 0 });
    expect(run.afterFinishedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 200);
    expect(run.afterFinishedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
  }, 30_000);

  it('without close() and the default holdMs (5 s) the process is held at most 6 s', async () => {
    const run = await runJob(brokers, 'prom-relay.metrics', 'none');
    expect(run.code).toBe(0);
    expect(run.result).toMatchObject({ queued: MESSAGES, sent: 0 });
    expect(run.afterFinishedMs).toBeLessThan(5000 + SLACK_MS);
  }, 30_000);
});

/** The broker's JVM: the java process whose command line names the broker's work folder. */
function brokerPid(kafka: KafkaServer): number {
  const workDir = dirname(kafka.dataDir);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      // the JVM itself, not the guard shell that started it with the same arguments
      if (argv[0]!.endsWith('java') && argv.includes('kafka.Kafka') && argv.some((a) => a.includes(workDir))) return Number(entry);
    } catch {
      // a process that ended meanwhile
    }
  }
  throw new Error(`no broker process found for ${workDir}`);
}

/**
 * SIGSTOP, then wait until every thread of the broker is stopped. kill() returns once the signal is queued: the kernel
 * wakes one thread, which then tells the others, and each stops only when it next runs. On a loaded machine the broker
 * went on answering for up to a quarter of a second (200 SIGSTOPs at load 12: 98 with a thread still running when
 * kill() returned; all stopped after p50 9 ms, p99 145 ms, max 258 ms), long enough to acknowledge the job's 11
 * messages sent right after (CI once read sent 12 for 1). Polls /proc; throws if a thread never stops.
 */
async function freezeBroker(pid: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  const deadline = Date.now() + 20_000;
  let running = runningThreads(pid);
  while (running.length > 0) {
    if (Date.now() > deadline) throw new Error(`broker ${pid}: threads ${running.join(', ')} still not stopped 20 s after SIGSTOP`);
    await new Promise((r) => setTimeout(r, 5));
    running = runningThreads(pid);
  }
}

/** The broker's threads not (yet) stopped: state T (stopped) or t, or gone (Z, X, or no longer listed), is stopped. */
function runningThreads(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).filter((tid) => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      return false; // the thread ended meanwhile
    }
    // the state follows the parenthesised command name
    return !['T', 't', 'Z', 'X'].includes(stat.charAt(stat.lastIndexOf(')') + 2));
  });
}

describe('a finished job whose broker answered, then froze (SIGSTOP)', () => {
  let kafka: KafkaServer;
  let pid: number;
  let frozen = false;
  beforeAll(async () => {
    kafka = await startKafka();
    pid = brokerPid(kafka);
  }, 120_000);
  afterAll(async () => {
    if (frozen) process.kill(pid, 'SIGCONT');
    await kafka?.stop();
  }, 60_000);

  for (const mode of ['close', 'hooks', 'none'] as const) {
    it(`exits within its deadline plus ${SLACK_MS} ms (${mode === 'none' ? 'no close, holdMs' : mode})`, async () => {
      const topic = `frozen-${mode}`;
      await kafka.createTopic(topic);
      const freeze = async () => {
        frozen = true;
        await freezeBroker(pid);
      };
      try {
        const run = await runJob(kafka.brokers.join(','), topic, mode, { onWarm: freeze, ...(mode === 'none' ? { holdMs: DEADLINE_MS } : {}) });
        expect(run.stdout).not.toMatch(/UNHANDLED/);
        expect(run.stderr).toBe('');
        expect(run.code).toBe(0);
        // the warm-up message went through before the freeze, nothing after it
        expect(run.result.sent).toBe(1);
        if (mode === 'none') expect(run.result.queued).toBe(MESSAGES);
        else expect(run.result).toMatchObject({ queued: 0, dropped: MESSAGES });
        expect(run.afterFinishedMs).toBeLessThan(DEADLINE_MS + SLACK_MS);
      } finally {
        process.kill(pid, 'SIGCONT');
        frozen = false;
      }
    }, 60_000);
  }
});

describe('a finished job under a live broker', () => {
  for (const mode of ['close', 'hooks', 'none'] as const) {
    it(`delivers all it queued and exits at once (${mode === 'none' ? 'no close' : mode})`, async () => {
      const brokers = testKafkaBrokers();
      const topic = await createTestTopic({ prefix: `emitter-finished-${mode}` });
      const run = await runJob(brokers.join(','), topic, mode);
      expect(run.stdout).not.toMatch(/UNHANDLED/);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      if (mode === 'close') expect(run.result.closeResult).toEqual({ flushed: true, dropped: 0 });
      expect(run.result).toMatchObject({ queued: 0, sent: MESSAGES, dropped: 0 });
      // delivering 11 messages to a healthy broker takes far less than the deadline
      expect(run.afterFinishedMs).toBeLessThan(DEADLINE_MS);
      const messages = await readMessages(brokers, topic, MESSAGES);
      expect(messages.map((m) => parseMessageHeaders(m.headers).sequence)).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));
    }, 60_000);
  }
});
