// Builds the Flink job of the Flink tests once per machine: the classpath of pom.xml (Maven: offline from ~/.m2 when it
// has everything, else from Maven Central) and FlinkCountJob.java compiled with javac, into a cache folder named by a
// hash of both files. A later run finds the folder and starts at once.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FLINK_JOB_DIR = dirname(fileURLToPath(import.meta.url));
const POM = join(FLINK_JOB_DIR, 'pom.xml');
const SOURCE = join(FLINK_JOB_DIR, 'FlinkCountJob.java');

export interface FlinkJob {
  /** `java -cp <classpath> FlinkCountJob …` */
  classpath: string;
  /** the Flink version of pom.xml */
  flinkVersion: string;
  /** how this call got it: built now, or found built */
  built: boolean;
  /** build.json: seconds of the build (Maven and javac), and whether Maven had to go online */
  record: FlinkBuildRecord;
}

export interface FlinkBuildRecord {
  seconds: number;
  mavenSeconds: number;
  javacSeconds: number;
  mavenOnline: boolean;
  builtAt: string;
}

/** `$PROM_RELAY_FLINK_CACHE` or `${XDG_CACHE_HOME:-~/.cache}/prom-relay/flink-job`. */
export function flinkCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return process.env.PROM_RELAY_FLINK_CACHE ?? join(xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.cache'), 'prom-relay', 'flink-job');
}

function flinkVersion(): string {
  const m = /<flink\.version>([^<]+)<\/flink\.version>/.exec(readFileSync(POM, 'utf8'));
  if (!m) throw new Error(`${POM} has no <flink.version>`);
  return m[1]!;
}

/** The folder of this pom.xml + FlinkCountJob.java: a changed file builds into a new one. */
export function flinkJobDir(cacheDir = flinkCacheDir()): string {
  const hash = createHash('sha256').update(readFileSync(POM)).update(readFileSync(SOURCE)).digest('hex').slice(0, 12);
  return join(cacheDir, `flink-${flinkVersion()}-${hash}`);
}

function classpathOf(dir: string): string {
  return `${join(dir, 'classes')}:${join(dir, 'lib', '*')}`;
}

/**
 * The built job, building it first when it is not cached (a cold build downloads about 65 MB of Flink jars once:
 * ~30 s to minutes, depending on the network). Builds go to a private folder renamed into place, so a concurrent or
 * interrupted build never leaves half a folder in use.
 */
export async function ensureFlinkJob(onProgress: (line: string) => void = () => {}): Promise<FlinkJob> {
  const dir = flinkJobDir();
  const version = flinkVersion();
  if (existsSync(join(dir, 'build.json'))) {
    return { classpath: classpathOf(dir), flinkVersion: version, built: false, record: JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8')) as FlinkBuildRecord };
  }
  const staging = `${dir}.partial-${process.pid}-${Date.now()}`;
  mkdirSync(staging, { recursive: true });
  try {
    const started = Date.now();
    const copy = ['-q', '-B', '-f', POM, 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies', `-DoutputDirectory=${join(staging, 'lib')}`];
    onProgress(`resolving the Flink ${version} job's classpath (mvn -o first; online if ~/.m2 lacks something)`);
    let mavenOnline = false;
    let mvn = await run('mvn', ['-o', ...copy]);
    if (mvn.code !== 0) {
      mavenOnline = true;
      onProgress('not all in ~/.m2: downloading from Maven Central (once per machine)');
      mvn = await run('mvn', copy);
    }
    if (mvn.code !== 0) throw new Error(`mvn could not resolve ${POM} (network to Maven Central? a mirror in ~/.m2/settings.xml?):\n${tail(mvn.output)}`);
    const mavenDone = Date.now();
    const javac = await run('javac', ['-d', join(staging, 'classes'), '-cp', join(staging, 'lib', '*'), '--release', '17', SOURCE]);
    if (javac.code !== 0) throw new Error(`javac failed on ${SOURCE} (a JDK 17+ is needed):\n${tail(javac.output)}`);
    const record: FlinkBuildRecord = {
      seconds: (Date.now() - started) / 1000,
      mavenSeconds: (mavenDone - started) / 1000,
      javacSeconds: (Date.now() - mavenDone) / 1000,
      mavenOnline,
      builtAt: new Date().toISOString(),
    };
    writeFileSync(join(staging, 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
    try {
      renameSync(staging, dir);
    } catch (err) {
      // Another process renamed its build in first: use that one.
      if (!existsSync(join(dir, 'build.json'))) throw err;
    }
    onProgress(`built the Flink job in ${record.seconds.toFixed(1)} s into ${dir}`);
    return { classpath: classpathOf(dir), flinkVersion: version, built: true, record };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function tail(output: string): string {
  return output.replace(/\x1b\[[0-9;]*m/g, '').trimEnd().split('\n').slice(-20).join('\n');
}

/** Runs a command to its end, output collected (both streams). */
export function run(command: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; output: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${command} could not start (${(err as NodeJS.ErrnoException).code ?? err.message}): is it installed?`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output, ms: Date.now() - started });
    });
  });
}
