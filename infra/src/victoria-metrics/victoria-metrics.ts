import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { ensureGoBinary, GO_BINARIES, type GoBuildOptions } from '../go/go-binaries.js';
import { waitForHttpReady } from '../process/http-readiness.js';
import { assertPortFree, launchOnPort, LOOPBACK } from '../process/ports.js';
import { forgetOnExit, removeOnExit, ServerProcess } from '../process/server-process.js';
import { sampleValue, type PromQuerySample, type PromQuerySeries } from '../prometheus/prometheus.js';

export interface VictoriaMetricsStartOptions {
  /** Default: a free loopback port. */
  port?: number;
  /** Deadline for /health; default 30 s. */
  startTimeoutMs?: number;
  /** Keep the storage folder after stop() (default false: removed). */
  keepData?: boolean;
  /** Extra flags, e.g. ['-dedup.minScrapeInterval=1s']. */
  extraArgs?: string[];
  /** Default: the binary built once from the Go module proxy (see ensureGoBinary). */
  binary?: string;
  /** Where the binary is built and cached. */
  build?: GoBuildOptions;
}

/** A VictoriaMetrics single-node server: the same query API shape as PrometheusServer. */
export interface VictoriaMetricsServer {
  /** e.g. http://127.0.0.1:40125 */
  readonly url: string;
  /** `${url}/api/v1/write` (Remote Write 1.0; a 2.0 body is read as an empty 1.0 request). */
  readonly remoteWriteUrl: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  readonly running: boolean;
  /** Makes everything written so far searchable (`/internal/force_flush`); query() and querySeries() call it. */
  forceFlush(): Promise<void>;
  /** Instant query (ms timestamps; default now); throws unless the result is a vector or scalar. */
  query(promql: string, time?: number): Promise<PromQuerySample[]>;
  /** Range-vector query such as `m[10m]`: VictoriaMetrics answers every raw sample in the window. */
  querySeries(promql: string, time?: number): Promise<PromQuerySeries[]>;
  /** Graceful stop; removes data unless kept. Final. */
  stop(options?: { keepData?: boolean }): Promise<void>;
  /** Simulates a crash: SIGKILL now, data kept. */
  kill(): Promise<void>;
  /** Stops if running, then starts again on the same port and storage; resolves at /health. */
  restart(): Promise<void>;
}

/**
 * Starts VictoriaMetrics single-node v1.151.0 (built once: `go install
 * github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@v1.151.0`) on loopback with its own storage.
 * Set for tests: no query latency offset and no response cache (fresh samples show at once), no retention limit
 * a test could hit, no deduplication (a sample written twice is seen twice).
 */
export async function startVictoriaMetrics(options: VictoriaMetricsStartOptions = {}): Promise<VictoriaMetricsServer> {
  const binary = options.binary ?? (await ensureGoBinary(GO_BINARIES.victoriaMetrics, options.build));
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const keepByDefault = options.keepData ?? false;
  const workDir = mkdtempSync(join(tmpdir(), 'prom-relay-victoria-metrics-'));
  if (!keepByDefault) removeOnExit(workDir);
  const dataDir = join(workDir, 'data');
  const logFile = join(workDir, 'victoria-metrics.log');
  mkdirSync(dataDir);

  let port = 0;
  let proc: ServerProcess | undefined;
  let stopped = false;
  const url = (): string => `http://${LOOPBACK}:${port}`;

  const launch = async (): Promise<void> => {
    const args = [
      `-httpListenAddr=${LOOPBACK}:${port}`,
      `-storageDataPath=${dataDir}`,
      '-retentionPeriod=100y',
      // Instant queries at "now" otherwise look 30 s back, and cached answers hide fresh samples.
      '-search.latencyOffset=0s',
      '-search.disableCache',
      '-loggerLevel=INFO',
      ...(options.extraArgs ?? []),
    ];
    const started = ServerProcess.start({ command: binary, args, logFile, cwd: workDir, removeWhenOrphaned: keepByDefault ? undefined : workDir });
    proc = started;
    try {
      await waitForHttpReady(started, 'VictoriaMetrics', `${url()}/health`, startTimeoutMs);
    } catch (err) {
      await started.stop(2_000);
      throw err;
    }
  };

  try {
    port = await launchOnPort(options.port, 'VictoriaMetrics', async (p) => {
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

  const forceFlush = async (): Promise<void> => {
    if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', 'forceFlush(): VictoriaMetrics was stopped');
    try {
      const response = await fetch(`${url()}/internal/force_flush`, { signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    } catch (err) {
      throw new InfraError('PROM_RELAY_INFRA_QUERY', `force_flush on ${url()} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };

  const api = async (promql: string, time: number | undefined): Promise<{ resultType: string; result: unknown }> => {
    await forceFlush();
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

  return {
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
    forceFlush,
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
      if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', 'kill(): VictoriaMetrics was stopped');
      await proc?.crash();
    },
    async restart() {
      if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', 'restart(): VictoriaMetrics was stopped (stop() is final; use kill() to simulate a crash)');
      await proc?.stop(15_000);
      await assertPortFree(port, 'VictoriaMetrics restart');
      await launch();
    },
  };
}
