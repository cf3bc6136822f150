import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import { findExecutable } from '../process/executables.js';
import { waitForHttpReady } from '../process/http-readiness.js';
import { assertPortFree, launchOnPort, LOOPBACK } from '../process/ports.js';
import { forgetOnExit, removeOnExit, ServerProcess } from '../process/server-process.js';

export interface PushgatewayStartOptions {
  /** Default: a free loopback port. */
  port?: number;
  /** Deadline for /-/ready; default 30 s. */
  startTimeoutMs?: number;
  /** Extra flags, e.g. ['--push.disable-consistency-check']. */
  extraArgs?: string[];
  /** Default: `prometheus-pushgateway` on PATH. */
  binary?: string;
}

export interface PushgatewayServer {
  /** e.g. http://127.0.0.1:40124 */
  readonly url: string;
  readonly port: number;
  /** Holds this instance's own --persistence.file (never the Debian default). */
  readonly dataDir: string;
  readonly logFile: string;
  readonly running: boolean;
  /** The exposition text at /metrics (pushed groups plus the gateway's own metrics). */
  metrics(): Promise<string>;
  /** Stops the process group and removes its folder. Final. */
  stop(): Promise<void>;
  /** Stops and starts again on the same port and persistence file. */
  restart(): Promise<void>;
}

/** Starts a Pushgateway on loopback with a private persistence file. */
export async function startPushgateway(options: PushgatewayStartOptions = {}): Promise<PushgatewayServer> {
  const binary = findExecutable(options.binary ?? 'prometheus-pushgateway');
  if (!binary) {
    throw new InfraError(
      'PROM_RELAY_INFRA_BINARY_MISSING',
      `${options.binary ?? 'prometheus-pushgateway'} is not installed (not on PATH): run \`bash scripts/setup.sh\` (as root it runs \`apt-get install -y prometheus-pushgateway\`)`,
    );
  }
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const workDir = mkdtempSync(join(tmpdir(), 'prom-relay-pushgateway-'));
  removeOnExit(workDir);
  const logFile = join(workDir, 'pushgateway.log');
  let port = 0;
  let proc: ServerProcess | undefined;
  let stopped = false;
  const url = (): string => `http://${LOOPBACK}:${port}`;

  const launch = async (): Promise<void> => {
    const args = [
      `--web.listen-address=${LOOPBACK}:${port}`,
      `--persistence.file=${join(workDir, 'pushgateway.data')}`,
      '--persistence.interval=1s',
      ...(options.extraArgs ?? []),
    ];
    const started = ServerProcess.start({ command: binary, args, logFile, cwd: workDir, removeWhenOrphaned: workDir });
    proc = started;
    try {
      await waitForHttpReady(started, 'Pushgateway', `${url()}/-/ready`, startTimeoutMs);
    } catch (err) {
      await started.stop(2_000);
      throw err;
    }
  };

  try {
    port = await launchOnPort(options.port, 'Pushgateway', async (p) => {
      port = p;
      await launch();
    });
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    forgetOnExit(workDir);
    throw err;
  }

  return {
    get url() {
      return url();
    },
    get port() {
      return port;
    },
    dataDir: workDir,
    logFile,
    get running() {
      return !stopped && (proc?.running ?? false);
    },
    async metrics() {
      const response = await fetch(`${url()}/metrics`, { signal: AbortSignal.timeout(10_000) });
      return response.text();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc?.stop(10_000);
      rmSync(workDir, { recursive: true, force: true });
      forgetOnExit(workDir);
    },
    async restart() {
      if (stopped) throw new InfraError('PROM_RELAY_INFRA_STATE', 'restart(): the Pushgateway was stopped');
      await proc?.stop(10_000);
      await assertPortFree(port, 'Pushgateway restart');
      await launch();
    },
  };
}
