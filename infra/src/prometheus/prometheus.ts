import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { findExecutable } from '../process/executables.js';
import { waitForHttpReady } from '../process/http-readiness.js';
import { assertPortFree, launchOnPort, LOOPBACK } from '../process/ports.js';
import { forgetOnExit, removeOnExit, ServerProcess } from '../process/server-process.js';

export interface PrometheusStartOptions {
  /** YAML appended at the root of prometheus.yml, e.g. `scrape_configs:` or `remote_write:`. */
  extraConfig?: string;
  /** global.scrape_interval and evaluation_interval; default '1s'. */
  scrapeInterval?: string;
  /** Default: a free loopback port. */
  port?: number;
  /** Deadline for /-/ready; default 30 s. */
  startTimeoutMs?: number;
  /** Keep the TSDB folder after stop() (default false: removed). */
  keepData?: boolean;
  /** Extra command-line flags, e.g. ['--storage.tsdb.retention.time=1h']. */
  extraArgs?: string[];
  /** Default: `prometheus` on PATH. */
  binary?: string;
}

/** One element of an instant vector (or a scalar), with the timestamp in ms like Sample.timestamp. */
export interface PromQuerySample {
  labels: Record<string, string>;
  value: number;
  timestamp: number;
}

/** One series of a range-vector query (`metric[5m]`): every raw sample, oldest first. */
export interface PromQuerySeries {
  labels: Record<string, string>;
  samples: { value: number; timestamp: number }[];
}

export interface PrometheusServer {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** `${url}/api/v1/write` (the remote write receiver is enabled). */
  readonly remoteWriteUrl: string;
  readonly port: number;
  /** The TSDB folder. */
  readonly dataDir: string;
  readonly logFile: string;
  readonly running: boolean;
  /** Instant query; `time` in ms since the epoch (default: now). Throws unless the result is a vector or scalar. */
  query(promql: string, time?: number): Promise<PromQuerySample[]>;
  /** Range-vector query such as `up[10m]`: raw samples per series. Throws unless the result is a matrix. */
  querySeries(promql: string, time?: number): Promise<PromQuerySeries[]>;
  /** Graceful stop of the process group; removes data unless kept. Final. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** Simulates a crash: SIGKILL now, data kept; call restart() to bring it back. */
  kill(): Promise<void>;
  /** Stops if running, then starts again on the same port and data; resolves at /-/ready. */
  restart(): Promise<void>;
}

/** Starts Prometheus with --web.enable-remote-write-receiver on loopback, with its own TSDB folder. */
export async function startPrometheus(options: PrometheusStartOptions = {}): Promise<PrometheusServer> {
  const binary = findExecutable(options.binary ?? 'prometheus');
  if (!binary) {
    throw new InfraError(
      'PROM_RELAY_INFRA_BINARY_MISSING',
      `${options.binary ?? 'prometheus'} is not installed (not on PATH): run \`bash scripts/setup.sh\` (as root it runs \`apt-get install -y prometheus\`)`,
    );
  }
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const scrapeInterval = options.scrapeInterval ?? '1s';
  if (!/^\d+(ms|s|m|h)$/.test(scrapeInterval)) {
    throw new InfraError('PROM_RELAY_INFRA_STATE', `scrapeInterval must be a Prometheus duration like '1s' or '15s', got ${JSON.stringify(scrapeInterval)}`);
  }
  const keepByDefault = options.keepData ?? false;
  const workDir = mkdtempSync(join(tmpdir(), 'prom-relay-prometheus-'));
  if (!keepByDefault) removeOnExit(workDir);
  const dataDir = join(workDir, 'tsdb');
  const logFile = join(workDir, 'prometheus.log');
  const configFile = join(workDir, 'prometheus.yml');
  mkdirSync(dataDir);
  const extra = options.extraConfig ? `\n${options.extraConfig.trimEnd()}\n` : '';
  writeFileSync(configFile, `global:\n  scrape_interval: ${scrapeInterval}\n  evaluation_interval: ${scrapeInterval}\n${extra}`);

  let port = 0;
  let proc: ServerProcess | undefined;
  let stopped = false;
  const url = (): string => `http://${LOOPBACK}:${port}`;

  const launch = async (): Promise<void> => {
    const args = [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=${LOOPBACK}:${port}`,
      '--web.enable-remote-write-receiver',
      // Tests may delete series between cases.
      '--web.enable-admin-api',
      '--log.level=info',
      ...(options.extraArgs ?? []),
    ];
    const started = ServerProcess.start({ command: binary, args, logFile, cwd: workDir, removeWhenOrphaned: keepByDefault ? undefined : workDir });
    proc = started;
    try {
      await waitForHttpReady(started, 'Prometheus', `${url()}/-/ready`, startTimeoutMs);
    } catch (err) {
      await started.stop(2_000);
      throw err;
    }
  };

  try {
    port = await launchOnPort(options.port, 'Prometheus', async (p) => {
      port = p;
      await launch();
    });
  } catch (err) {
    if (!keepByDefault) {
      rmSync(workDir, { recursive: true, force: true });
      forgetOnExit(workDir);
    }
    throw err;
  }

  const api = async (promql: string, time: number | undefined): Promise<{ resultType: string; result: unknown }> => {
    if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', 'query(): Prometheus was stopped');
    const params = new URLSearchParams({ query: promql });
    if (time !== undefined) params.set('time', (time / 1000).toFixed(3));
    let body: { status?: string; error?: string; errorType?: string; data?: { resultType: string; result: unknown } };
    try {
      const response = await fetch(`${url()}/api/v1/query?${params}`, { signal: AbortSignal.timeout(10_000) });
      body = (await response.json()) as typeof body;
    } catch (err) {
      throw new InfraError('PROM_RELAY_INFRA_QUERY', `query ${JSON.stringify(promql)} to ${url()} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (body.status !== 'success' || !body.data) {
      throw new InfraError('PROM_RELAY_INFRA_QUERY', `query ${JSON.stringify(promql)} failed: ${body.errorType ?? 'error'}: ${body.error ?? 'no data'}`);
    }
    return body.data;
  };

  const server: PrometheusServer = {
    get url() {
      return url();
    },
    get remoteWriteUrl() {
      return `${url()}/api/v1/write`;
    },
    get port() {
      return port;
    },
    dataDir,
    logFile,
    get running() {
      return !stopped && (proc?.running ?? false);
    },
    async query(promql, time) {
      const data = await api(promql, time);
      if (data.resultType === 'scalar') {
        const [t, v] = data.result as [number, string];
        return [{ labels: {}, value: sampleValue(v), timestamp: Math.round(t * 1000) }];
      }
      if (data.resultType !== 'vector') {
        throw new InfraError('PROM_RELAY_INFRA_QUERY', `query ${JSON.stringify(promql)} returned a ${data.resultType}; use querySeries() for range vectors`);
      }
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
        labels: r.metric,
        value: sampleValue(r.value[1]),
        timestamp: Math.round(r.value[0] * 1000),
      }));
    },
    async querySeries(promql, time) {
      const data = await api(promql, time);
      if (data.resultType !== 'matrix') {
        throw new InfraError('PROM_RELAY_INFRA_QUERY', `querySeries ${JSON.stringify(promql)} returned a ${data.resultType}; it needs a range vector such as metric[5m]`);
      }
      return (data.result as { metric: Record<string, string>; values: [number, string][] }[]).map((r) => ({
        labels: r.metric,
        samples: r.values.map(([t, v]) => ({ value: sampleValue(v), timestamp: Math.round(t * 1000) })),
      }));
    },
    async stop(stopOptions) {
      if (stopped) return;
      stopped = true;
      await proc?.stop(15_000);
      if (!(stopOptions?.keepData ?? keepByDefault)) {
        rmSync(workDir, { recursive: true, force: true });
        forgetOnExit(workDir);
      }
    },
    async kill() {
      if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', 'kill(): Prometheus was stopped');
      await proc?.crash();
    },
    async restart() {
      if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', 'restart(): Prometheus was stopped (stop() is final; use kill() to simulate a crash)');
      await proc?.stop(15_000);
      await assertPortFree(port, 'Prometheus restart');
      await launch();
    },
  };
  return server;
}

/** Prometheus's HTTP API writes infinities as "+Inf"/"-Inf", which Number() reads as NaN. */
export function sampleValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}
