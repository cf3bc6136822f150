// The relay carries the latest exemplar of each output series, within the spec's limits (src/exemplars.ts). One over
// the limits is dropped where it enters, and one sent alone for a series no sample fed yet where the aggregate finds no
// output for it (path `no_sample`), never silently: prom_relay_exemplars_dropped_total{path} and a log line at most
// once per path per minute (a sender that always attaches such exemplars cannot flood the log).
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
      path === 'no_sample'
        ? 'exemplars dropped: sent alone for a series no sample had fed yet (counted in prom_relay_exemplars_dropped_total)'
        : path === 'remote_write_receiver'
          ? 'exemplars dropped: the Remote Write 2.0 receiver answered 2xx without writing them (its X-Prometheus-Remote-Write-Exemplars-Written counts fewer than sent; counted in prom_relay_exemplars_dropped_total)'
          : 'exemplars dropped: over the limits (label names and values together over 128 UTF-8 characters, or a timestamp more than 10 minutes ahead; counted in prom_relay_exemplars_dropped_total, never as written)',
    );
  }
}
