// The status page's data, served as JSON at /api/v1/status and rendered as HTML at /: one snapshot, two views.
import type { OwnedPartition } from '../source/index.js';
import type { DeadLetterEntry, FlushEntry, FlushMinute, JobEntry, StatusRecorder } from './recorder.js';

export type RelayRole = 'run' | 'ingest' | 'aggregate';

export interface PartitionStatus {
  topic: string;
  partition: number;
  /** `input`: a consumed topic (this relay aggregates its pushes); `partials`: the repartition topic (this relay owns its series) */
  kind: 'input' | 'partials';
  nextOffset: string | null;
  highWatermark: string | null;
  lag: number;
  series: number;
  caughtUp: boolean;
  /** seconds since its last checkpoint was written or restored; null before the first */
  checkpointAgeSeconds: number | null;
  checkpointBytes: number | null;
}

export interface StatusSnapshot {
  version: string;
  role: RelayRole;
  owner: string;
  startedAt: number;
  now: number;
  /** ingest processes answering on this port (the ingest role's workers); 1 otherwise */
  workers: number;
  ready: boolean;
  checks: Record<string, boolean | string>;
  /** null: this role consumes nothing (ingest) */
  partitions: PartitionStatus[] | null;
  flushes: { recent: FlushEntry[]; minutes: FlushMinute[] } | null;
  jobs: {
    /** where the pushes were seen: records this relay consumed (aggregate, run) or requests it acknowledged (ingest) */
    seenBy: 'consumer' | 'ingest';
    rows: JobEntry[];
    maxJobs: number;
    maxProducersPerJob: number;
    evicted: number;
  };
  deadLetters: { byReason: Record<string, number>; recent: DeadLetterEntry[] } | null;
  /** the effective config, secrets masked (as check-config prints it) */
  config: unknown;
}

export interface SnapshotInput {
  version: string;
  role: RelayRole;
  owner: string;
  startedAt: number;
  readiness: { ready: boolean; checks: Record<string, boolean | string> };
  recorder: StatusRecorder;
  /** the partitions owned now; undefined for a role without a consumer */
  partitions?: OwnedPartition[];
  partialsTopic?: string;
  maskedConfig: unknown;
  now?: number;
}

export function partitionStatus(p: OwnedPartition, partialsTopic: string | undefined, now: number): PartitionStatus {
  return {
    topic: p.topic,
    partition: p.partition,
    kind: p.role === 'owner' || p.topic === partialsTopic ? 'partials' : 'input',
    nextOffset: p.nextOffset === undefined ? null : String(p.nextOffset),
    highWatermark: p.highWatermark === undefined ? null : String(p.highWatermark),
    lag: p.lag,
    series: p.aggregate.seriesCount,
    caughtUp: p.caughtUp,
    checkpointAgeSeconds: p.lastCheckpointAt === undefined ? null : Math.max(0, (now - p.lastCheckpointAt) / 1000),
    checkpointBytes: p.lastCheckpointBytes ?? null,
  };
}

export function buildSnapshot(i: SnapshotInput): StatusSnapshot {
  const now = i.now ?? Date.now();
  const consumes = i.partitions !== undefined;
  const partitions = i.partitions
    ?.map((p) => partitionStatus(p, i.partialsTopic, now))
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return {
    version: i.version,
    role: i.role,
    owner: i.owner,
    startedAt: i.startedAt,
    now,
    workers: 1,
    ready: i.readiness.ready,
    checks: i.readiness.checks,
    partitions: partitions ?? null,
    flushes: consumes ? i.recorder.flushes() : null,
    jobs: { seenBy: consumes ? 'consumer' : 'ingest', ...i.recorder.jobs() },
    deadLetters: consumes ? i.recorder.deadLetters() : null,
    config: i.maskedConfig,
  };
}

/**
 * One snapshot from those of several ingest workers sharing a port: jobs merged (latest push wins, pushes summed,
 * producers merged and bounded again), ready only when every worker is.
 */
export function mergeSnapshots(snapshots: StatusSnapshot[]): StatusSnapshot {
  const [first] = snapshots;
  if (!first) throw new Error('mergeSnapshots: no snapshot');
  if (snapshots.length === 1) return first;
  const jobs = new Map<string, JobEntry>();
  for (const s of snapshots) {
    for (const row of s.jobs.rows) {
      const prev = jobs.get(row.job);
      if (!prev) {
        jobs.set(row.job, { ...row, producers: [...row.producers] });
        continue;
      }
      prev.lastPush = Math.max(prev.lastPush, row.lastPush);
      prev.pushes += row.pushes;
      prev.producersEvicted += row.producersEvicted;
      const byId = new Map(prev.producers.map((p) => [p.producerId, { ...p }]));
      for (const p of row.producers) {
        const q = byId.get(p.producerId);
        if (!q) byId.set(p.producerId, { ...p });
        else {
          if (p.lastPush > q.lastPush) Object.assign(q, { lastPush: p.lastPush, lastOp: p.lastOp, grouping: p.grouping });
          q.pushes += p.pushes;
        }
      }
      const merged = [...byId.values()].sort((a, b) => b.lastPush - a.lastPush);
      prev.producersEvicted += Math.max(0, merged.length - first.jobs.maxProducersPerJob);
      prev.producers = merged.slice(0, first.jobs.maxProducersPerJob);
    }
  }
  const rows = [...jobs.values()].sort((a, b) => b.lastPush - a.lastPush || a.job.localeCompare(b.job));
  const checks: Record<string, boolean | string> = {};
  for (const key of new Set(snapshots.flatMap((s) => Object.keys(s.checks)))) {
    const values = snapshots.map((s) => s.checks[key] ?? 'none');
    checks[key] = values.every((v) => v === values[0]) ? values[0]! : values.map((v, n) => `worker ${n + 1}: ${String(v)}`).join('; ');
  }
  return {
    ...first,
    now: Math.max(...snapshots.map((s) => s.now)),
    workers: snapshots.length,
    ready: snapshots.every((s) => s.ready),
    checks,
    jobs: {
      ...first.jobs,
      rows: rows.slice(0, first.jobs.maxJobs),
      evicted: snapshots.reduce((n, s) => n + s.jobs.evicted, 0) + Math.max(0, rows.length - first.jobs.maxJobs),
    },
  };
}
