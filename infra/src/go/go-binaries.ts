import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { InfraError } from '../errors.js';
import { findExecutable } from '../process/executables.js';
import { ServerProcess, tailOfFile } from '../process/server-process.js';
import { acquireLock } from './file-lock.js';

/** A server built from the Go module proxy with `go install <package>@<version>`. */
export interface GoBinarySpec {
  /** Cache folder name and what progress lines call it. */
  name: string;
  /** The main package, e.g. github.com/prometheus/prometheus/cmd/prometheus. */
  package: string;
  version: string;
  /** Build tags (`-tags a,b`). */
  tags?: string[];
  /** File `go install` writes into GOBIN (the last element of the package path). */
  binary: string;
}

/** The pinned servers. Bumping a version builds once more into a new folder; old folders stay until removed. */
export const GO_BINARIES = {
  /** Prometheus 3.16 (the Go module's v0.316.0); no service discovery plugins, which halves the build. */
  prometheus3: {
    name: 'prometheus',
    package: 'github.com/prometheus/prometheus/cmd/prometheus',
    version: 'v0.316.0',
    tags: ['remove_all_sd'],
    binary: 'prometheus',
  },
  /** VictoriaMetrics single-node. */
  victoriaMetrics: {
    name: 'victoria-metrics',
    package: 'github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics',
    version: 'v1.151.0',
    binary: 'victoria-metrics',
  },
} as const satisfies Record<string, GoBinarySpec>;

export type GoBinaryName = keyof typeof GO_BINARIES;

export interface GoBuildOptions {
  /** Root of the binary cache; default $PROM_RELAY_GO_BIN_CACHE or ${XDG_CACHE_HOME:-~/.cache}/prom-relay/go-bin. */
  cacheDir?: string;
  /** Progress lines (build start, wait for another build, done); silent by default. */
  onProgress?: (line: string) => void;
  /** Deadline for a build, and for waiting on another process's build; default 30 min. */
  timeoutMs?: number;
  /** Stops the build (the `go` process is killed, nothing is cached). */
  signal?: AbortSignal;
}

/** What build.json in a cached folder says. */
export interface GoBuildRecord {
  package: string;
  version: string;
  tags: string[];
  goVersion: string;
  /** Wall-clock seconds of the `go install`. */
  seconds: number;
  builtAt: string;
}

export function defaultGoBinCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return process.env.PROM_RELAY_GO_BIN_CACHE ?? join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'prom-relay', 'go-bin');
}

/** `<cacheDir>/<name>-<version>`: the binary and its build.json. */
export function goBinaryDir(spec: GoBinarySpec, cacheDir = defaultGoBinCacheDir()): string {
  return join(cacheDir, `${spec.name}-${spec.version}`);
}

/** The cached binary's path, or undefined while it is not built (a folder without build.json is never used). */
export function cachedGoBinary(spec: GoBinarySpec, cacheDir = defaultGoBinCacheDir()): string | undefined {
  const dir = goBinaryDir(spec, cacheDir);
  const binary = join(dir, spec.binary);
  return existsSync(join(dir, 'build.json')) && existsSync(binary) ? binary : undefined;
}

/** The build record of a cached binary (how long its build took), or undefined. */
export function goBuildRecord(spec: GoBinarySpec, cacheDir = defaultGoBinCacheDir()): GoBuildRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(goBinaryDir(spec, cacheDir), 'build.json'), 'utf8')) as GoBuildRecord;
  } catch {
    return undefined;
  }
}

/** One build per binary and process; other processes wait on the folder lock. */
const inProcess = new Map<string, Promise<string>>();

/**
 * Answers the path of the binary, building it first with `go install` when it is not cached. Builds go into a
 * private folder that gets build.json and is then renamed into place, under a lock, so two test files (or two
 * runs) never build the same binary at once and nobody sees half a cache. Needs `go` on PATH (or $GOROOT/bin)
 * and the Go module proxy; the first build of Prometheus or VictoriaMetrics costs a few CPU-minutes.
 */
export function ensureGoBinary(specOrName: GoBinarySpec | GoBinaryName, options: GoBuildOptions = {}): Promise<string> {
  const spec = typeof specOrName === 'string' ? GO_BINARIES[specOrName] : specOrName;
  const cacheDir = options.cacheDir ?? defaultGoBinCacheDir();
  const cached = cachedGoBinary(spec, cacheDir);
  if (cached) return Promise.resolve(cached);
  const key = goBinaryDir(spec, cacheDir);
  let pending = inProcess.get(key);
  if (!pending) {
    pending = buildUnderLock(spec, cacheDir, options).finally(() => inProcess.delete(key));
    inProcess.set(key, pending);
  }
  return pending;
}

async function buildUnderLock(spec: GoBinarySpec, cacheDir: string, options: GoBuildOptions): Promise<string> {
  const go = findGo();
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const finalDir = goBinaryDir(spec, cacheDir);
  mkdirSync(cacheDir, { recursive: true });
  const lock = await acquireLock(`${finalDir}.lock`, `go install ${spec.package}@${spec.version}`, {
    timeoutMs,
    signal: options.signal,
    onWait: (owner) => options.onProgress?.(`waiting for ${spec.name} ${spec.version}: another process (pid ${owner?.pid ?? '?'}) is building it`),
  });
  try {
    // Built by the process we waited for.
    const done = cachedGoBinary(spec, cacheDir);
    if (done) return done;
    if (options.signal?.aborted) throw new InfraError('PROM_RELAY_INFRA_GO_BUILD', `building ${spec.name} ${spec.version} was aborted`);
    const staging = `${finalDir}.partial-${process.pid}-${Date.now()}`;
    mkdirSync(staging, { recursive: true });
    try {
      const args = ['install', ...(spec.tags?.length ? ['-tags', spec.tags.join(',')] : []), '-trimpath', `${spec.package}@${spec.version}`];
      options.onProgress?.(`building ${spec.name} ${spec.version} once into ${finalDir} (go ${args.join(' ')}; a few CPU-minutes)`);
      const started = Date.now();
      const result = await run(go, args, {
        ...process.env,
        GOBIN: staging,
        // Pure Go: no C compiler needed, and VictoriaMetrics skips compiling the C zstd library.
        CGO_ENABLED: '0',
        // Never fetch a toolchain of its own (the machine's Go is the one to use; fail clearly instead).
        GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
      }, timeoutMs, join(staging, 'build.log'), options.signal);
      const seconds = (Date.now() - started) / 1000;
      if (result.code !== 0 || !existsSync(join(staging, spec.binary))) {
        throw buildError(spec, result, options.signal?.aborted === true);
      }
      const record: GoBuildRecord = {
        package: spec.package,
        version: spec.version,
        tags: [...(spec.tags ?? [])],
        goVersion: goVersion(go),
        seconds: Math.round(seconds * 10) / 10,
        builtAt: new Date().toISOString(),
      };
      writeFileSync(join(staging, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
      // A leftover without build.json (a build interrupted before this layout) is replaced.
      rmSync(finalDir, { recursive: true, force: true });
      renameSync(staging, finalDir);
      options.onProgress?.(`built ${spec.name} ${spec.version} in ${record.seconds} s`);
      return join(finalDir, spec.binary);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  } finally {
    lock.release();
  }
}

function findGo(): string {
  const go = findExecutable('go') ?? (process.env.GOROOT ? findExecutable(join(process.env.GOROOT, 'bin', 'go')) : undefined) ?? findExecutable('/usr/local/go/bin/go');
  if (!go) {
    throw new InfraError(
      'PROM_RELAY_INFRA_GO_MISSING',
      'the Go toolchain (go) is not on PATH: Prometheus 3 and VictoriaMetrics are built from the Go module proxy on first use; install Go 1.26 or newer',
    );
  }
  return go;
}

function goVersion(go: string): string {
  try {
    return execFileSync(go, ['env', 'GOVERSION'], { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch {
    return 'unknown';
  }
}

function buildError(spec: GoBinarySpec, result: { code: number; output: string }, aborted: boolean): InfraError {
  const tail = result.output.trimEnd().split('\n').slice(-15).join('\n');
  if (aborted) return new InfraError('PROM_RELAY_INFRA_GO_BUILD', `building ${spec.name} ${spec.version} was aborted`);
  const offline = /dial tcp|lookup .*(no such host|server misbehaving)|connection refused|i\/o timeout|TLS handshake timeout|Network is unreachable/i.test(result.output);
  const toolchain = /requires go >= |toolchain not available|go: downloading go1/i.test(result.output);
  const why = offline
    ? 'the Go module proxy could not be reached (no network? set GOPROXY/GOFLAGS for a mirror)'
    : toolchain
      ? 'this Go is older than the module needs (install a newer Go, or allow a toolchain download with GOTOOLCHAIN=auto)'
      : `go install exited ${result.code}`;
  return new InfraError('PROM_RELAY_INFRA_GO_BUILD', `building ${spec.package}@${spec.version} failed: ${why}. go said:\n${tail}`);
}

/** Runs `go` under the server guard (its own process group, killed if this process dies), output into `logFile`. */
async function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  logFile: string,
  signal?: AbortSignal,
): Promise<{ code: number; output: string }> {
  // The guard also removes the staging folder (logFile's) if this process dies mid-build.
  const proc = ServerProcess.start({ command, args, env, logFile, removeWhenOrphaned: dirname(logFile) });
  let note = '';
  const timer = setTimeout(() => {
    note = `\n(stopped after ${timeoutMs} ms)`;
    void proc.stop(1_000);
  }, timeoutMs);
  const onAbort = (): void => void proc.stop(1_000);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await proc.exited;
    return { code: exit.code ?? -1, output: `${tailOfFile(logFile, 40)}${note}` };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
