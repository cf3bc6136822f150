// `prom-relay ingest` on every core: node:cluster workers share the listening port (the primary accepts and hands
// connections round-robin), each with its own Kafka producer. The ingest holds no state, so a worker that dies is
// simply forked again. /metrics and the status page answer for all workers (worker-cluster.ts); /readyz answers for
// the worker the request reached (each has its own Kafka producer).
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { runPrimary, startWorker, type ClusterRole, type WorkerRelay, type WorkerStartOptions } from './worker-cluster.js';

export type { WorkerRelay } from './worker-cluster.js';

const INGEST: ClusterRole = {
  name: 'ingest',
  help: { restarts: 'Ingest workers forked again after one exited unexpectedly.', workers: 'Ingest worker processes alive, sharing the HTTP port.' },
  startedOn: 'listening',
  sharedReadiness: false,
};

export interface IngestPrimaryOptions {
  workers: number;
  logger: Logger;
  /** how long workers get to finish their requests on SIGTERM/SIGINT */
  shutdownTimeoutMs: number;
  /** URL host the workers listen on (0.0.0.0 and :: are shown as 127.0.0.1) */
  host: string;
}

/**
 * What a forked ingest worker runs with, unless the operator set it (node flags, NODE_OPTIONS, the environment): a
 * young generation of 4 MiB semi-spaces instead of V8's 16 (under load a worker's RSS follows it) and two glibc malloc
 * arenas. Measured in the ingest README (Memory): RSS per worker down by ~50 MiB, CPU per push within the noise.
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
export const WORKER_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** The primary's own node flags plus each default flag whose name the operator did not give (execArgv or NODE_OPTIONS). */
export function workerExecArgv(execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((f) => f.split('=')[0]!.replaceAll('_', '-'));
  return [...execArgv, ...WORKER_NODE_FLAGS.filter((f) => !given.includes(f.split('=')[0]!))];
}

/** The ingest primary: forks `workers` ingest workers and keeps them running (see runPrimary). Resolves with the exit code. */
export function runIngestPrimary(o: IngestPrimaryOptions): Promise<number> {
  cluster.setupPrimary({ execArgv: workerExecArgv(process.execArgv, process.env.NODE_OPTIONS) });
  // cluster.fork passes the primary's environment on: a variable the operator set keeps its value.
  for (const [name, value] of Object.entries(WORKER_ENV)) process.env[name] ??= value;
  return runPrimary({ ...o, role: INGEST });
}

/** Starts an ingest worker: its /metrics and status page answer for every worker, through the primary. */
export function startIngestWorker<R extends WorkerRelay>(start: (opts: WorkerStartOptions) => Promise<R>): Promise<R> {
  return startWorker(INGEST, start);
}
