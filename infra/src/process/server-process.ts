import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { InfraError } from '../errors.js';

/**
 * A server child in its own process group, wrapped by a bash guard that kills the whole group
 * when this Node process disappears (even by SIGKILL), so no java or prometheus outlives a test run.
 */
const GUARD_SCRIPT = [
  'parent=$1; orphan_dir=$2; shift 2',
  '"$@" &',
  'child=$!',
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM INT HUP',
  // USR1 = crash the server (SIGKILL) but let the guard reap it and exit on its own.
  'trap \'kill -KILL "$child" 2>/dev/null\' USR1',
  // A dead parent that nobody has reaped yet is a zombie: kill -0 still succeeds, so read its state too.
  'parent_gone() { kill -0 "$parent" 2>/dev/null || return 0; local st; read -r st < "/proc/$parent/stat" 2>/dev/null || return 1; st=${st##*) }; [ "${st%% *}" = Z ]; }',
  'while kill -0 "$child" 2>/dev/null; do',
  // Orphaned: kill the server, remove its temp folder (nobody else will), then the whole group.
  '  if parent_gone; then kill -KILL "$child" 2>/dev/null; wait "$child"; if [ -n "$orphan_dir" ]; then rm -rf -- "$orphan_dir"; fi; kill -KILL 0; fi',
  '  sleep 1 & wait -n',
  'done',
  'wait "$child"',
].join('\n');

/** Absolute, so a trimmed PATH cannot lose the guard. */
const BASH = existsSync('/bin/bash') ? '/bin/bash' : 'bash';

export interface ServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcessOptions {
  /** Executable path (already resolved). */
  command: string;
  args: string[];
  /** stdout and stderr are appended here; read back for error messages. */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Folder the guard removes if this Node process dies without stopping the server (its temp data). */
  removeWhenOrphaned?: string;
}

/** Every live group, so exit paths can kill them synchronously. */
const liveGroups = new Map<number, ServerProcess>();
/** Folders to remove on process exit (temp data of servers not stopped explicitly). */
const exitCleanups = new Set<string>();
let hooksInstalled = false;

function killAllGroups(): void {
  for (const pid of liveGroups.keys()) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  liveGroups.clear();
  for (const dir of exitCleanups) rmSync(dir, { recursive: true, force: true });
  exitCleanups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Another handler (the stack CLI, a test runner) stops servers gracefully; the exit hook is the safety net.
  if (process.listenerCount(signal) > 1) return;
  killAllGroups();
  process.removeListener(signal, onSignal);
  // Nobody else handles it: restore the default behaviour (exit by that signal).
  process.kill(process.pid, signal);
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllGroups);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

/** Remove `dir` when this process exits, unless `forgetOnExit(dir)` was called first. */
export function removeOnExit(dir: string): void {
  installExitHooks();
  exitCleanups.add(dir);
}

export function forgetOnExit(dir: string): void {
  exitCleanups.delete(dir);
}

/** Number of server process groups this Node process still owns (for tests). */
export function liveServerGroupCount(): number {
  return liveGroups.size;
}

export class ServerProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Resolves once the whole guard (and so the server) has exited. */
  readonly exited: Promise<ServerExit>;
  #exit: ServerExit | undefined;
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess, logFile: string) {
    if (child.pid === undefined) throw new InfraError('PROM_RELAY_INFRA_START_FAILED', `could not spawn ${BASH} to run the server guard: is bash installed?`);
    this.pid = child.pid;
    this.logFile = logFile;
    this.#child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        liveGroups.delete(this.pid);
        resolve(this.#exit);
      });
    });
    child.once('error', (err) => appendFileSync(logFile, `prom-relay-guard: ${err.message}\n`));
  }

  static start(options: ServerProcessOptions): ServerProcess {
    installExitHooks();
    const fd = openSync(options.logFile, 'a');
    try {
      const child = spawn(BASH, ['-c', GUARD_SCRIPT, 'prom-relay-guard', String(process.pid), options.removeWhenOrphaned ?? '', options.command, ...options.args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
      // A forgotten stop() must not keep Node alive: the exit hooks and the guard clean up.
      child.unref();
      const server = new ServerProcess(child, options.logFile);
      liveGroups.set(server.pid, server);
      return server;
    } finally {
      closeSync(fd);
    }
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  get exitStatus(): ServerExit | undefined {
    return this.#exit;
  }

  /** SIGTERM to the server (through its guard), SIGKILL to the group after `graceMs`; resolves when every member is gone. */
  async stop(graceMs = 10_000): Promise<ServerExit> {
    if (this.#exit) return this.#exit;
    // Hold the event loop open until the exit is observed, even in a script with nothing else to do.
    this.#child.ref();
    // To the guard only: it forwards one SIGTERM to the server. A TERM to the whole group would reach the server
    // twice (directly and from the guard's trap), and a second TERM kills some servers mid-shutdown
    // (VictoriaMetrics stops listening after the first one: its storage was then left unclean, data lost).
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      // The guard is already gone; the group SIGKILL below cleans up.
    }
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), graceMs);
    try {
      const exit = await this.exited;
      // The guard is gone; make sure nothing it started survived it.
      signalGroup(this.pid, 'SIGKILL');
      await waitGroupGone(this.pid, 5_000);
      return exit;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Simulates a crash: SIGKILL to the server only, so the guard reaps it and no zombie is left. */
  async crash(): Promise<ServerExit> {
    if (this.#exit) return this.#exit;
    this.#child.ref();
    try {
      process.kill(this.pid, 'SIGUSR1');
    } catch {
      // The guard is already gone.
    }
    const timer = setTimeout(() => signalGroup(this.pid, 'SIGKILL'), 5_000);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last `lines` lines of the server's log, for error messages. */
  logTail(lines = 25): string {
    return tailOfFile(this.logFile, lines);
  }
}

export function tailOfFile(file: string, lines = 25): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}

/** True while a live (non-zombie) process is in group `pgid`; zombies count as gone since init may never reap them. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the parenthesised command: state, ppid, pgrp.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') return true;
    } catch {
      // Exited while scanning.
    }
  }
  return false;
}

async function waitGroupGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(20);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
