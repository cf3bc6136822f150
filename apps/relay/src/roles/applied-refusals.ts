// What a partition's apply refused, said: after each batch the aggregate (source partition) or the combiner (owner
// partition) applied, one rate-limited log line per kind of refusal and partition (the counters are metrics.applied's
// and RepartitionMetrics.combined's), and exemplars that found no sample counted as dropped.
import type { Logger } from 'pino';
import { RateLimitedLog } from '../log/index.js';
import type { CombineResult } from '../repartition/index.js';

/** The parts of an aggregate's apply result read here (all optional: a result may carry none). */
interface AppliedResult {
  typeConflicts?: number;
  exemplarsUnmatched?: number;
  invalid?: number;
  limitHits?: Record<string, number>;
  duplicates?: number;
  duplicate?: boolean;
}

export class AppliedRefusals {
  private readonly log: RateLimitedLog;

  constructor(
    logger: Logger,
    /** exemplars sent alone for a series no sample fed yet (path `no_sample`) */
    private readonly exemplarsUnmatched: (count: number) => void,
  ) {
    this.log = new RateLimitedLog(logger);
  }

  /** An owner partition's combine of partials. */
  combined(partition: string, combined: CombineResult): void {
    // An output series fed as one type by one partition and as another by another (a delta counter pushed beside
    // the group's gauge of that name): the owner keeps the first, the other's values are refused.
    if (combined.conflicts > 0) {
      this.log.log('warn', `partials_conflict/${partition}`, { partition, partials: combined.conflicts, code: 'PROM_RELAY_PARTIALS_CONFLICT' },
        'partials refused: their output series is fed as another type from another source partition (one name pushed as counter and as gauge); prom_relay_partials_received_total{result="conflict"}');
    }
  }

  /** A source partition's apply of a decoded batch. */
  applied(partition: string, result: unknown): void {
    const { typeConflicts: conflicts = 0, exemplarsUnmatched: unmatched = 0, invalid = 0, limitHits, duplicates = 0, duplicate = false } = result as AppliedResult;
    if (conflicts > 0) {
      this.log.log('warn', `type_conflict/${partition}`, { partition, points: conflicts, code: 'PROM_RELAY_AGGREGATE_TYPE_CONFLICT' },
        'points refused: their output series exists as another type (one name pushed as counter and as gauge under one job)');
    }
    if (unmatched > 0) this.exemplarsUnmatched(unmatched);
    // Routine after a sender's retry (Prometheus sends a batch again after a 5xx), a sign of a bug when a producer id
    // and its sequence numbers are reused across runs: either way not applied, so said (info, rate-limited).
    if (duplicates > 0) {
      this.log.log('info', `duplicate/${partition}`, { partition, points: duplicates, batch: duplicate, code: 'PROM_RELAY_AGGREGATE_DUPLICATE' },
        duplicate
          ? 'push ignored: its producer already sent this sequence number or a later one (a retried send; or a producer id reused by another run, whose points are then lost)'
          : 'points ignored: older than a sample their producer applied to the series since (a retried or delayed request)');
    }
    const limits = limitHits === undefined ? [] : Object.entries(limitHits).filter(([, n]) => n > 0);
    if (limits.length > 0) {
      this.log.log('warn', `limit/${partition}`, { partition, limits: Object.fromEntries(limits), code: 'PROM_RELAY_AGGREGATE_LIMIT' },
        'points refused at a limit of aggregation (limits: points per limit; prom_relay_limit_hits_total)');
    }
    if (invalid > 0) {
      this.log.log('warn', `invalid/${partition}`, { partition, points: invalid, code: 'PROM_RELAY_AGGREGATE_INVALID' },
        'points refused: a value a total cannot take (negative, non-finite or over 1e300) or a native histogram that does not fit its series');
    }
  }
}
