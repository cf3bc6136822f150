// `prom-relay aggregate` on several cores: `aggregation.processes` (or `--processes N`) node:cluster workers, each a
// whole aggregator and its own member of the consumer group. The group spreads the input partitions and the partials
// topic's partitions over the processes as it would over relays on several machines, so each owner partition (each
// output series) still has exactly one writer, and the checkpoints keep totals exact when a worker dies and is forked
// again. One HTTP port, one /metrics (summed), one status page (partitions of every worker) and one /readyz (ready
// when every worker is) for the whole: worker-cluster.ts.
import type { Logger } from 'pino';
import { mergeSnapshots, RECENT_DEAD_LETTERS, RECENT_FLUSHES, type StatusSnapshot } from '../status/index.js';
import { runPrimary, startWorker, type ClusterRole, type WorkerRelay, type WorkerStartOptions } from './worker-cluster.js';

/** The workers' snapshots as one: jobs and checks merged, every worker's partitions, flushes and dead letters. */
export function mergeAggregatorSnapshots(snapshots: StatusSnapshot[]): StatusSnapshot {
  const merged = mergeSnapshots(snapshots);
  if (snapshots.length < 2) return merged;
  const partitions = snapshots
    .flatMap((s) => s.partitions ?? [])
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  const minutes = new Map<number, NonNullable<StatusSnapshot['flushes']>['minutes'][number]>();
  for (const m of snapshots.flatMap((s) => s.flushes?.minutes ?? [])) {
    const prev = minutes.get(m.minute);
    if (!prev) minutes.set(m.minute, { ...m });
    else {
      prev.flushes += m.flushes;
      prev.failedFlushes += m.failedFlushes;
      prev.samplesSent += m.samplesSent;
      prev.samplesFailed += m.samplesFailed;
    }
  }
  const recentFlushes = snapshots.flatMap((s) => s.flushes?.recent ?? []).sort((a, b) => b.at - a.at);
  const byReason: Record<string, number> = {};
  for (const s of snapshots) for (const [reason, n] of Object.entries(s.deadLetters?.byReason ?? {})) byReason[reason] = (byReason[reason] ?? 0) + n;
  const recentLetters = snapshots.flatMap((s) => s.deadLetters?.recent ?? []).sort((a, b) => b.at - a.at);
  return {
    ...merged,
    partitions,
    flushes: { recent: recentFlushes.slice(0, RECENT_FLUSHES), minutes: [...minutes.values()].sort((a, b) => a.minute - b.minute) },
    deadLetters: { byReason, recent: recentLetters.slice(0, RECENT_DEAD_LETTERS) },
  };
}

const AGGREGATE: ClusterRole = {
  name: 'aggregate',
  help: {
    restarts: 'Aggregator processes forked again after one exited unexpectedly.',
    workers: 'Aggregator processes alive, each a member of the consumer group.',
  },
  // Started once it joined the group: `relay started` then means every process consumes.
  startedOn: 'started',
  // A probe must not see "ready" from one process while another is still restoring its partitions.
  sharedReadiness: true,
  // Assigned together at the first start: no worker consumes alone and then hands partitions over.
  joinTogether: true,
  mergeStatus: mergeAggregatorSnapshots,
};

export interface AggregatePrimaryOptions {
  processes: number;
  logger: Logger;
  shutdownTimeoutMs: number;
  host: string;
}

/** The primary: forks `processes` aggregators and keeps them running. Resolves with the exit code. */
export function runAggregatePrimary(o: AggregatePrimaryOptions): Promise<number> {
  return runPrimary({ role: AGGREGATE, workers: o.processes, logger: o.logger, shutdownTimeoutMs: o.shutdownTimeoutMs, host: o.host });
}

/** Starts one aggregator process: /metrics, the status page and /readyz answer for every process, through the primary. */
export function startAggregateWorker<R extends WorkerRelay>(start: (opts: WorkerStartOptions) => Promise<R>): Promise<R> {
  return startWorker(AGGREGATE, start);
}
