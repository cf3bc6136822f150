// What the status page shows beyond the live partitions, kept in bounded memory:
//   - flushes: the last RECENT_FLUSHES results, and per-minute totals of the last hour (60 buckets) for the plot;
//   - jobs: per job its most recent producers and last push time (at most maxJobs jobs, maxProducersPerJob each);
//   - dead letters: counts by reason, and the last RECENT_DEAD_LETTERS errors.
// Nothing here grows with time or traffic: the oldest entry goes when a bound is reached, and evictions are counted.

export const RECENT_FLUSHES = 20;
export const RECENT_DEAD_LETTERS = 10;
export const FLUSH_MINUTES = 60;
export const DEFAULT_MAX_JOBS = 500;
export const DEFAULT_MAX_PRODUCERS_PER_JOB = 20;
const MAX_ERROR_CHARS = 300;
const MAX_REASONS = 100;

export interface FlushEntry {
  at: number;
  status: string;
  series: number;
  partitions: number;
  samplesSent: number;
  samplesFailed: number;
  durationMs: number;
  error?: string;
}

export interface FlushMinute {
  /** start of the minute, ms since epoch */
  minute: number;
  flushes: number;
  failedFlushes: number;
  samplesSent: number;
  samplesFailed: number;
}

export interface ProducerEntry {
  producerId: string;
  grouping: Record<string, string>;
  lastPush: number;
  pushes: number;
  lastOp: string;
}

export interface JobEntry {
  job: string;
  lastPush: number;
  pushes: number;
  /** most recent first */
  producers: ProducerEntry[];
  /** producers dropped from this job's list to keep it within maxProducersPerJob */
  producersEvicted: number;
}

export interface DeadLetterEntry {
  at: number;
  reason: string;
  outcome: 'sent' | 'given_up';
  error: string;
  topic: string;
  partition: number;
  offset: string;
}

/** A push as the status page sees it: from a decoded Kafka record (aggregator) or an acknowledged ingest message. */
export interface PushSeen {
  job: string;
  grouping: Record<string, string>;
  producerId: string;
  op: string;
  at: number;
}

export interface RecorderOptions {
  maxJobs?: number;
  maxProducersPerJob?: number;
  now?: () => number;
}

interface JobState {
  job: string;
  lastPush: number;
  pushes: number;
  /** insertion order = least recently pushed first */
  producers: Map<string, ProducerEntry>;
  producersEvicted: number;
}

function clip(text: string): string {
  return text.length > MAX_ERROR_CHARS ? `${text.slice(0, MAX_ERROR_CHARS)}…` : text;
}

export function errorText(err: unknown): string | undefined {
  if (err === undefined || err === null) return undefined;
  return clip(err instanceof Error ? err.message : String(err));
}

export class StatusRecorder {
  readonly maxJobs: number;
  readonly maxProducersPerJob: number;
  private readonly now: () => number;
  private readonly recentFlushes: FlushEntry[] = [];
  private readonly minutes: FlushMinute[] = [];
  /** insertion order = least recently pushed first */
  private readonly jobMap = new Map<string, JobState>();
  private jobsEvicted = 0;
  private readonly reasons = new Map<string, number>();
  private readonly recentDead: DeadLetterEntry[] = [];

  constructor(opts: RecorderOptions = {}) {
    this.maxJobs = opts.maxJobs ?? DEFAULT_MAX_JOBS;
    this.maxProducersPerJob = opts.maxProducersPerJob ?? DEFAULT_MAX_PRODUCERS_PER_JOB;
    this.now = opts.now ?? Date.now;
  }

  flushed(r: { status: string; series: number; partitions: number; samplesSent: number; samplesFailed: number; durationMs: number; error?: unknown }): void {
    const at = this.now();
    const error = errorText(r.error);
    this.recentFlushes.push({
      at,
      status: r.status,
      series: r.series,
      partitions: r.partitions,
      samplesSent: r.samplesSent,
      samplesFailed: r.samplesFailed,
      durationMs: Math.round(r.durationMs),
      ...(error !== undefined ? { error } : {}),
    });
    if (this.recentFlushes.length > RECENT_FLUSHES) this.recentFlushes.shift();
    const minute = Math.floor(at / 60_000) * 60_000;
    let bucket = this.minutes[this.minutes.length - 1];
    if (bucket?.minute !== minute) {
      bucket = { minute, flushes: 0, failedFlushes: 0, samplesSent: 0, samplesFailed: 0 };
      this.minutes.push(bucket);
      while (this.minutes.length > FLUSH_MINUTES) this.minutes.shift();
    }
    bucket.flushes++;
    if (r.status !== 'success' && r.status !== 'empty') bucket.failedFlushes++;
    bucket.samplesSent += r.samplesSent;
    bucket.samplesFailed += r.samplesFailed;
  }

  pushed(p: PushSeen): void {
    let job = this.jobMap.get(p.job);
    if (job) {
      this.jobMap.delete(p.job);
    } else {
      job = { job: p.job, lastPush: 0, pushes: 0, producers: new Map(), producersEvicted: 0 };
      if (this.jobMap.size >= this.maxJobs) {
        const oldest = this.jobMap.keys().next().value;
        if (oldest !== undefined) this.jobMap.delete(oldest);
        this.jobsEvicted++;
      }
    }
    this.jobMap.set(p.job, job);
    job.lastPush = Math.max(job.lastPush, p.at);
    job.pushes++;
    const prev = job.producers.get(p.producerId);
    if (prev) job.producers.delete(p.producerId);
    else if (job.producers.size >= this.maxProducersPerJob) {
      const oldest = job.producers.keys().next().value;
      if (oldest !== undefined) job.producers.delete(oldest);
      job.producersEvicted++;
    }
    job.producers.set(p.producerId, {
      producerId: p.producerId,
      grouping: p.grouping,
      lastPush: Math.max(prev?.lastPush ?? 0, p.at),
      pushes: (prev?.pushes ?? 0) + 1,
      lastOp: p.op,
    });
  }

  deadLetter(entry: Omit<DeadLetterEntry, 'at' | 'error'> & { error: string }): void {
    const key = entry.reason;
    if (this.reasons.has(key) || this.reasons.size < MAX_REASONS) this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
    else this.reasons.set('other', (this.reasons.get('other') ?? 0) + 1);
    this.recentDead.push({ ...entry, error: clip(entry.error), at: this.now() });
    if (this.recentDead.length > RECENT_DEAD_LETTERS) this.recentDead.shift();
  }

  flushes(): { recent: FlushEntry[]; minutes: FlushMinute[] } {
    const since = Math.floor(this.now() / 60_000) * 60_000 - (FLUSH_MINUTES - 1) * 60_000;
    return { recent: [...this.recentFlushes].reverse(), minutes: this.minutes.filter((m) => m.minute >= since).map((m) => ({ ...m })) };
  }

  jobs(): { rows: JobEntry[]; maxJobs: number; maxProducersPerJob: number; evicted: number } {
    const rows: JobEntry[] = [];
    for (const j of this.jobMap.values()) {
      rows.push({ job: j.job, lastPush: j.lastPush, pushes: j.pushes, producers: [...j.producers.values()].reverse(), producersEvicted: j.producersEvicted });
    }
    rows.sort((a, b) => b.lastPush - a.lastPush || a.job.localeCompare(b.job));
    return { rows, maxJobs: this.maxJobs, maxProducersPerJob: this.maxProducersPerJob, evicted: this.jobsEvicted };
  }

  deadLetters(): { byReason: Record<string, number>; recent: DeadLetterEntry[] } {
    return { byReason: Object.fromEntries([...this.reasons].sort(([a], [b]) => a.localeCompare(b))), recent: [...this.recentDead].reverse() };
  }
}
