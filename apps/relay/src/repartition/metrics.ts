// The repartition stage on /metrics: series owned, partials published and received, series fed from several partitions.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { RateLimitedLog } from '../log/index.js';
import type { OwnedPartition } from '../source/index.js';
import type { CombineResult } from './combiner.js';
import { SeriesCombiner } from './combiner.js';
import { MAX_CARRIED_ENDS, type CarriedEndsLimit } from './source-state.js';

export class RepartitionMetrics {
  readonly published: Counter;
  readonly received: Counter<'result'>;
  readonly resets: Counter;
  readonly forwarded: Counter<'topic'>;
  readonly endsDropped: Counter;

  constructor(registry: Registry, partitions: () => OwnedPartition[]) {
    const registers = [registry];
    const combiners = () => partitions().flatMap((p) => (p.aggregate instanceof SeriesCombiner ? [p.aggregate] : []));
    this.published = new Counter({
      name: 'prom_relay_partials_published_total',
      help: 'Partials (one output series as one source partition sees it) published to the owners of the series.',
      registers,
    });
    this.received = new Counter({
      name: 'prom_relay_partials_received_total',
      help: 'Partials received by owner partitions: applied, outdated (older than one already applied) or conflict (same series, other type).',
      labelNames: ['result'],
      registers,
    });
    this.resets = new Counter({
      name: 'prom_relay_partial_resets_total',
      help: 'Total partials that went down at a newer offset (a source restarted a series): counted as a reset of that source.',
      registers,
    });
    this.forwarded = new Counter({
      name: 'prom_relay_pushes_forwarded_total',
      help: "Pushes that landed on another partition than their producer's home and were forwarded there (a client's partitioner).",
      labelNames: ['topic'],
      registers,
    });
    this.endsDropped = new Counter({
      name: 'prom_relay_partials_ends_dropped_total',
      help: 'Whole-job delete ends (with their final totals) a source dropped: over the bound it carries while publishing partials fails.',
      registers,
    });
    new Gauge({
      name: 'prom_relay_output_series_owned',
      help: 'Output series this relay owns (combines and writes out).',
      registers,
      collect() {
        this.set(combiners().reduce((n, c) => n + c.seriesCount, 0));
      },
    });
    new Gauge({
      name: 'prom_relay_output_series_multi_source',
      help: 'Owned output series fed from more than one source partition, as of the last flush.',
      registers,
      collect() {
        this.set(combiners().reduce((n, c) => n + c.multiSourceCount, 0));
      },
    });
  }

  /** The bound on the ends a source partition carries over failed publishes; a drop is counted and logged. */
  carriedEnds(logger: Logger, max = MAX_CARRIED_ENDS): CarriedEndsLimit {
    const log = new RateLimitedLog(logger, { limit: 1, intervalMs: 60_000 });
    return {
      max,
      onDropped: (dropped) => {
        this.endsDropped.inc(dropped);
        log.log('error', 'ends_dropped', { dropped, max, code: 'PROM_RELAY_PARTIALS_ENDS_DROPPED' },
          'publishing partials keeps failing: whole-job delete ends over the bound a source carries were dropped, and their final totals with them (the owners keep each series at its last published total)');
      },
    };
  }

  combined(r: CombineResult): void {
    if (r.applied) this.received.inc({ result: 'applied' }, r.applied);
    if (r.outdated) this.received.inc({ result: 'outdated' }, r.outdated);
    if (r.conflicts) this.received.inc({ result: 'conflict' }, r.conflicts);
    if (r.resets) this.resets.inc(r.resets);
  }
}
