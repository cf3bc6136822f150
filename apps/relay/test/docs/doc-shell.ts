// Running doc commands as written: a stand-in for the repository root, address substitution, one-shot commands
// and services (a `prom-relay run` started, checked and stopped).
import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A literal address in the docs and what stands for it in the test; `to` is resolved only when `from` occurs. */
export interface AddressRule {
  from: string;
  to: () => string | Promise<string>;
}

export async function substitute(text: string, rules: readonly AddressRule[]): Promise<string> {
  let out = text;
  for (const rule of rules) if (out.includes(rule.from)) out = out.split(rule.from).join(await rule.to());
  return out;
}

/** Root files the docs' commands read: copied into the stand-in with the address substitution applied. */
export const COPIED_ROOT_FILES = ['relay.yaml'];

/**
 * A fresh directory that stands for the repository root: a symlink to each entry of the root (`.git` left out),
 * except COPIED_ROOT_FILES, copied through `rewrite`. Files the commands write stay in this directory.
 */
export function standInRoot(repo: string, rewrite: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'prom-relay-docs-'));
  for (const entry of readdirSync(repo)) {
    if (entry === '.git') continue;
    if (COPIED_ROOT_FILES.includes(entry)) writeFileSync(join(dir, entry), rewrite(readFileSync(join(repo, entry), 'utf8')));
    else symlinkSync(join(repo, entry), join(dir, entry));
  }
  return dir;
}

/** Removes a stand-in: its symlinks are unlinked (never followed), the files written there removed. */
export function removeStandIn(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (lstatSync(path).isSymbolicLink()) unlinkSync(path);
    else rmSync(path, { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
}

export interface CommandResult {
  command: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one command with bash (`pipefail`), in its own process group, killed as a whole after `timeoutMs`. */
export function runCommand(command: string, opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', command], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      reject(new Error(`\`${command}\` did not finish within ${opts.timeoutMs} ms; stdout: ${stdout.slice(-2000)}; stderr: ${stderr.slice(-2000)}`));
    }, opts.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ command, code, stdout, stderr });
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export interface Service {
  command: string;
  /** JSON log lines written to stdout so far */
  logs: Record<string, unknown>[];
  output(): string;
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>;
  /**
   * SIGTERM to the whole process group, as Ctrl-C or an orchestrator stopping a container would; resolves once every
   * process that holds its stdout has exited. `code` is the direct child's: npm (under `npx`) does not wait for its
   * child on a signal and dies of it (`signal`), so the relay's own end is in its logs.
   */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a long-running command (`exec`ed by bash, in its own process group) that logs JSON lines to stdout. */
export function startService(command: string, opts: { cwd: string; env: NodeJS.ProcessEnv }): Service {
  const child = spawn('bash', ['-c', `exec ${command}`], { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let raw = '';
  let pending = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    raw += c.toString('utf8');
    pending += c.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        continue;
      }
      for (const w of [...waiters]) w();
    }
  });
  child.stderr!.on('data', (c: Buffer) => (raw += c.toString('utf8')));
  // 'close': the child exited and every process that inherited its stdout and stderr did too.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('close', (code, signal) => res({ code, signal })));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of [...waiters]) w();
  });
  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs: number) =>
    new Promise<Record<string, unknown>>((res, rej) => {
      const timer = setTimeout(() => finish(new Error(`no such log line from \`${command}\` within ${timeoutMs} ms; output: ${raw.slice(-3000)}`)), timeoutMs);
      const check = () => {
        const found = logs.find(pred);
        if (found) finish(undefined, found);
        else if (done) finish(new Error(`\`${command}\` exited (${child.exitCode}) before the log line; output: ${raw.slice(-3000)}`));
      };
      const finish = (err?: Error, line?: Record<string, unknown>) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) rej(err);
        else res(line!);
      };
      waiters.add(check);
      check();
    });
  const stop = async (timeoutMs = 30_000) => {
    if (!done) killGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeoutMs);
    const end = await exited;
    clearTimeout(timer);
    return end;
  };
  return { command, logs, output: () => raw, waitForLog, stop };
}
