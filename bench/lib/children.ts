// Server processes a benchmark starts (relays, peers): their output kept for errors, all killed when the bench ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface Child {
  child: ChildProcess;
  pid: number;
  /** stdout and stderr lines, newest last (bounded) */
  lines: string[];
  /** stdout lines that parse as JSON (the relay's pino log) */
  logs: Record<string, unknown>[];
  name: string;
}

const running = new Set<Child>();
const killAll = () => {
  for (const c of running) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
};
process.once('exit', killAll);
for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => (killAll(), process.exit(1)));

export function startChild(name: string, command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Child = { child, pid: child.pid!, lines: [], logs: [], name };
  running.add(c);
  child.once('exit', () => running.delete(c));
  for (const stream of [child.stdout!, child.stderr!]) {
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        c.lines.push(line);
        if (c.lines.length > 200) c.lines.shift();
        if (stream === child.stdout && line.startsWith('{')) {
          try {
            c.logs.push(JSON.parse(line) as Record<string, unknown>);
            if (c.logs.length > 2000) c.logs.shift();
          } catch {
            /* not a log line */
          }
        }
      }
    });
  }
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `ready` until it answers a value (generous deadline: a busy machine starts things slowly). */
export async function waitFor<T>(c: Child, what: string, ready: () => Promise<T | undefined> | T | undefined, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve()
      .then(ready)
      .catch(() => undefined);
    if (v !== undefined) return v;
    if (c.child.exitCode !== null || c.child.signalCode !== null) throw new Error(`${c.name} exited (${c.child.exitCode ?? c.child.signalCode}) before ${what}: ${c.lines.slice(-5).join(' | ')}`);
    if (Date.now() > deadline) throw new Error(`${c.name}: no ${what} within ${timeoutMs / 1000} s: ${c.lines.slice(-5).join(' | ')}`);
    await sleep(100);
  }
}

/** Stops a child: SIGTERM, SIGKILL after `graceMs`. */
export function stopChild(c: Child, graceMs = 10_000): Promise<void> {
  return new Promise((res) => {
    if (c.child.exitCode !== null || c.child.signalCode !== null) return res();
    c.child.once('exit', () => res());
    c.child.kill('SIGTERM');
    setTimeout(() => c.child.kill('SIGKILL'), graceMs).unref();
  });
}

/** A free loopback port (for servers that take no port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
