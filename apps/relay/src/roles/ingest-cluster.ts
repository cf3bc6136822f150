// `prom-relay ingest` on every core: node:cluster workers share the listening port (the primary accepts and hands
// connections round-robin), each with its own Kafka producer. The ingest holds no state, so a worker that dies is
// simply forked again. /metrics and the status page answer for all workers (worker-cluster.ts); /readyz answers for
// the worker the request reached (each has its own Kafka producer).
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

/** The ingest primary: forks `workers` ingest workers and keeps them running (see runPrimary). Resolves with the exit code. */
export function runIngestPrimary(o: IngestPrimaryOptions): Promise<number> {
  return runPrimary({ ...o, role: INGEST });
}

/** Starts an ingest worker: its /metrics and status page answer for every worker, through the primary. */
export function startIngestWorker<R extends WorkerRelay>(start: (opts: WorkerStartOptions) => Promise<R>): Promise<R> {
  return startWorker(INGEST, start);
}
