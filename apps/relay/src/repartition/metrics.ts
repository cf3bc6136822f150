// The repartition stage on /metrics: series owned, partials published and received, series fed from several partitions.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { OwnedPartition } from '../source/index.js';
import type { CombineResult } from './combiner.js';
import { SeriesCombiner } from './combiner.js';

export class RepartitionMetrics {
  readonly published: Counter;
  readonly received: Counter<'result'>;
  readonly resets: Counter;
  readonly forwarded: Counter<'topic'>;

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

  combined(r: CombineResult): void {
    if (r.applied) this.received.inc({ result: 'applied' }, r.applied);
    if (r.outdated) this.received.inc({ result: 'outdated' }, r.outdated);
    if (r.conflicts) this.received.inc({ result: 'conflict' }, r.conflicts);
    if (r.resets) this.resets.inc(r.resets);
  }
}
