import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { INFRA_ROOT, REPO_ROOT } from '../paths.js';
import { findExecutable } from '../process/executables.js';

/** The pinned broker version; infra/kafka/pom.xml carries the same default. */
export const KAFKA_VERSION = '4.1.2';

export const KAFKA_POM = join(INFRA_ROOT, 'kafka', 'pom.xml');

export interface KafkaJarsOptions {
  /** Root of the jar cache; default $PROM_RELAY_KAFKA_CACHE or <repo>/.cache/kafka. */
  cacheDir?: string;
  /** Maven local repository override (a temp one measures a truly cold download). */
  mavenRepoLocal?: string;
  /** Maven settings.xml (mirrors, proxies) passed with -s. */
  mavenSettings?: string;
  /** Progress lines (e.g. to stderr); silent by default. */
  onProgress?: (line: string) => void;
}

export function defaultKafkaCacheDir(): string {
  return process.env.PROM_RELAY_KAFKA_CACHE ?? join(REPO_ROOT, '.cache', 'kafka');
}

/** The folder holding the broker's classpath for `version` under `cacheDir`. */
export function kafkaLibsDir(cacheDir = defaultKafkaCacheDir(), version = KAFKA_VERSION): string {
  return join(cacheDir, version, 'libs');
}

/** Written into the staging folder before the rename, so `libs/` either is absent or is complete. */
const COMPLETE_MARKER = '.complete';

/** True when the jars are cached and complete (no Maven needed). */
export function kafkaJarsCached(cacheDir = defaultKafkaCacheDir()): boolean {
  const libs = kafkaLibsDir(cacheDir);
  // The second form is the layout of caches made before the marker moved inside libs/.
  return existsSync(join(libs, COMPLETE_MARKER)) || (existsSync(libs) && existsSync(join(cacheDir, KAFKA_VERSION, COMPLETE_MARKER)));
}

/**
 * Returns the libs folder, resolving the jars from Maven Central first when they are not cached.
 * Downloads into a private folder and renames it into place, so concurrent runs never see half a cache.
 */
export async function ensureKafkaJars(options: KafkaJarsOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultKafkaCacheDir();
  const libs = kafkaLibsDir(cacheDir);
  if (kafkaJarsCached(cacheDir)) return libs;

  const mvn = findExecutable('mvn');
  if (!mvn) {
    throw new InfraError(
      'PROM_RELAY_INFRA_MAVEN_MISSING',
      `Apache Maven (mvn) is not on PATH and the Kafka ${KAFKA_VERSION} jars are not cached in ${libs}: install it (\`apt-get install -y maven\`) or run \`bash scripts/setup.sh\``,
    );
  }
  const versionDir = join(cacheDir, KAFKA_VERSION);
  mkdirSync(versionDir, { recursive: true });
  const staging = join(versionDir, `libs.partial-${process.pid}-${Date.now()}`);
  const args = [
    '-q',
    '-B',
    '-f',
    KAFKA_POM,
    `-Dkafka.version=${KAFKA_VERSION}`,
    // Fully qualified so an offline machine fails on a download (clear cause), not on a plugin prefix lookup.
    'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
    `-DoutputDirectory=${staging}`,
  ];
  if (options.mavenRepoLocal) args.push(`-Dmaven.repo.local=${options.mavenRepoLocal}`);
  if (options.mavenSettings) args.unshift('-s', options.mavenSettings);
  options.onProgress?.(`resolving org.apache.kafka:kafka_2.13:${KAFKA_VERSION} from Maven Central into ${libs}`);
  const result = await run(mvn, args);
  if (result.code !== 0 || !existsSync(staging) || readdirSync(staging).length === 0) {
    rmSync(staging, { recursive: true, force: true });
    const offline = /UnknownHost|Could not transfer|No plugin found for prefix|Could not resolve|Network is unreachable|Connection (refused|timed out)|Temporary failure in name resolution/i.test(result.output);
    // Maven colours its output even with -B; the message is plain text.
    const tail = result.output.replace(/\x1b\[[0-9;]*m/g, '').trimEnd().split('\n').slice(-15).join('\n');
    throw new InfraError(
      'PROM_RELAY_INFRA_JARS_UNAVAILABLE',
      offline
        ? `Maven could not download the Kafka ${KAFKA_VERSION} jars: no network to Maven Central. Connect, or configure a proxy/mirror in ~/.m2/settings.xml, then rerun. Maven said:\n${tail}`
        : `Maven failed to resolve the Kafka ${KAFKA_VERSION} jars (exit ${result.code}). Maven said:\n${tail}`,
    );
  }
  writeFileSync(join(staging, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
  // A libs/ without the marker is the leftover of an interrupted old-style run.
  if (existsSync(libs) && !kafkaJarsCached(cacheDir)) rmSync(libs, { recursive: true, force: true });
  try {
    renameSync(staging, libs);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    // Another run renamed its complete copy first: use it.
    if (!kafkaJarsCached(cacheDir)) throw err;
  }
  options.onProgress?.(`cached ${readdirSync(libs).filter((f) => f.endsWith('.jar')).length} jars in ${libs}`);
  return libs;
}

function run(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const append = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      // Only the tail is ever shown.
      if (output.length > 64_000) output = output.slice(-32_000);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    child.once('error', (err) => resolve({ code: -1, output: `${output}\n${err.message}` }));
    child.once('close', (code) => resolve({ code: code ?? -1, output }));
  });
}
