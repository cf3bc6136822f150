// The relay does not carry exemplars (it aggregates samples; an exemplar belongs to one producer's raw observation).
// Every exemplar received is dropped here, never silently: prom_relay_exemplars_dropped_total{path} and a log line at
// most once per path per minute (a sender that always attaches exemplars cannot flood the log).
import type { Logger } from 'pino';
import { RateLimitedLog } from '../log/index.js';
import type { ExemplarPath, RelayMetrics } from './metrics.js';

export class ExemplarDrops {
  private readonly log: RateLimitedLog;

  constructor(
    private readonly metrics: Pick<RelayMetrics, 'exemplarsDropped'>,
    logger: Logger,
    opts: { intervalMs?: number } = {},
  ) {
    this.log = new RateLimitedLog(logger, { limit: 1, intervalMs: opts.intervalMs ?? 60_000 });
  }

  /** `count` exemplars that arrived by `path` and go no further. */
  dropped(path: ExemplarPath, count: number): void {
    if (count <= 0) return;
    this.metrics.exemplarsDropped.inc({ path }, count);
    this.log.warn(
      `exemplars/${path}`,
      { path, exemplars: count, code: 'PROM_RELAY_EXEMPLARS_DROPPED' },
      'exemplars dropped: the relay does not carry exemplars (counted in prom_relay_exemplars_dropped_total, never as written)',
    );
  }
}
