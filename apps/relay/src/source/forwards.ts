// Pushes consumed on a partition that is not their home (producer homes: repartition/homes.ts) are forwarded there, to be
// decoded and applied once, at home. A batch's forwards go together (one produce request) before anything after them is
// applied: the source's offset moves past a forwarded push only once Kafka acknowledged its copy. While Kafka refuses
// them the partition cannot advance: each failed attempt is counted (prom_relay_forward_failures_total), logged
// (rate-limited, PROM_RELAY_SOURCE_FORWARD) and the partition shows as stalled (ForwardStalls: /readyz, the
// prom_relay_partition_stalled_seconds gauge) until they go through.
import type { Logger } from 'pino';
import type { StalledPartition } from '../dlq/index.js';
import type { BatchContext, KafkaRecord, TopicPartition } from '../kafka/index.js';
import { RateLimitedLog } from '../log/index.js';

export const FORWARD_FAILED = 'PROM_RELAY_SOURCE_FORWARD';

/** The partitions whose forwards are failing right now (shared by a source's batches), and their rate-limited log. */
export class ForwardStalls {
  readonly stalls = new Map<string, StalledPartition>();
  readonly log: RateLimitedLog;

  constructor(readonly logger: Logger) {
    this.log = new RateLimitedLog(logger, { limit: 5, intervalMs: 10_000 });
  }

  /** partitions that cannot advance because their forwards fail */
  stalled(): StalledPartition[] {
    return [...this.stalls.values()];
  }
}

/** Producer homes: where a push belongs (undefined: where it is). A push elsewhere is forwarded, not applied. */
export interface Homes {
  /** the record's home partition, from its headers (undefined: apply it where it is) */
  homeOf(record: KafkaRecord): number | undefined;
  /** produces the records to their home partitions, marked forwarded; resolves once Kafka acknowledged all */
  forward(records: ReadonlyArray<{ record: KafkaRecord; partition: number }>): Promise<void>;
}

/** Forwards sent in one produce request at most (each waits for the ones before it to be acknowledged). */
const MAX_FORWARDS = 500;

export interface BatchForwardsOptions {
  homes: Homes;
  stalls: ForwardStalls;
  /** the partition consumed (its key, for the logs) */
  key: string;
  ctx: BatchContext;
  /** false once the partition moved away or the relay stops: the retries end */
  goOn: () => boolean;
  /** a record Kafka acknowledged at its home */
  forwarded?: (tp: TopicPartition, home: number) => void;
  /** an attempt at the pending forwards failed (the partition consumed) */
  failed?: (tp: TopicPartition) => void;
}

/** The forwards of one batch not yet sent. */
export class BatchForwards {
  private readonly pending: Array<{ record: KafkaRecord; partition: number }> = [];

  constructor(private readonly opts: BatchForwardsOptions) {}

  add(record: KafkaRecord, home: number): void {
    this.pending.push({ record, partition: home });
  }

  /** as many as one produce request takes: to be sent before more are added */
  get full(): boolean {
    return this.pending.length >= MAX_FORWARDS;
  }

  /**
   * Sends the pending forwards, retried until Kafka takes them: the last record forwarded (undefined: none was pending),
   * or false when the partition moved away or the relay stops meanwhile.
   */
  async send(): Promise<KafkaRecord | undefined | false> {
    if (this.pending.length === 0) return undefined;
    if (!(await this.sendUntilDone())) return false;
    for (const f of this.pending) this.opts.forwarded?.(f.record, f.partition);
    const last = this.pending[this.pending.length - 1]!.record;
    this.pending.length = 0;
    return last;
  }

  private async sendUntilDone(): Promise<boolean> {
    const { ctx, key, stalls } = this.opts;
    const first = this.pending[0]!.record;
    const since = Date.now();
    let entry: StalledPartition | undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.opts.homes.forward(this.pending);
          if (entry !== undefined) stalls.logger.info({ code: FORWARD_FAILED, partition: key, offset: first.offset, attempts: attempt + 1 }, 'pushes forwarded after retries: partition moves on');
          return true;
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          entry = { topic: first.topic, partition: first.partition, offset: first.offset, since, attempts: attempt + 1, lastError: error };
          stalls.stalls.set(key, entry);
          this.opts.failed?.(first);
          stalls.log.error(key, { code: FORWARD_FAILED, err, partition: key, offset: first.offset, records: this.pending.length, attempt }, 'forwarding pushes to their home partitions failed: partition stalled, retrying');
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)));
        if (!this.opts.goOn()) return false;
        await ctx.heartbeat().catch(() => undefined);
      }
    } finally {
      if (entry !== undefined && stalls.stalls.get(key) === entry) stalls.stalls.delete(key);
    }
  }
}
