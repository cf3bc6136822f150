import { Counter, Gauge, Histogram as PromHistogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { RegistryLike } from './options.js';

/** The client's own metrics on a caller's registry, labelled by `remote` so several clients can share it. */
export class RemoteWriteMetrics {
  readonly samplesSent: Counter<'remote'>;
  readonly samplesFailed: Counter<'remote'>;
  readonly samplesRetried: Counter<'remote'>;
  readonly samplesDropped: Counter<'remote'>;
  readonly exemplarsFailed: Counter<'remote'>;
  readonly requestDuration: PromHistogram<'remote' | 'code'>;
  readonly inFlight: Gauge<'remote'>;
  readonly queuedSamples: Gauge<'remote'>;
  readonly fallbacks: Counter<'remote' | 'reason'>;

  constructor(registryLike: RegistryLike, private readonly remote: string) {
    const registry = registryLike as unknown as Registry;
    const counter = (name: string, help: string): Counter<'remote'> =>
      (registry.getSingleMetric(name) as Counter<'remote'> | undefined) ??
      new Counter({ name, help, labelNames: ['remote'], registers: [registry] });
    const gauge = (name: string, help: string): Gauge<'remote'> =>
      (registry.getSingleMetric(name) as Gauge<'remote'> | undefined) ??
      new Gauge({ name, help, labelNames: ['remote'], registers: [registry] });
    this.samplesSent = counter('prom_relay_remote_write_samples_sent_total', 'Samples accepted by the remote write receiver.');
    this.samplesFailed = counter('prom_relay_remote_write_samples_failed_total', 'Samples refused for good (invalid, or rejected by the receiver).');
    this.samplesRetried = counter('prom_relay_remote_write_samples_retried_total', 'Sample sends repeated after a retryable answer.');
    this.samplesDropped = counter('prom_relay_remote_write_samples_dropped_total', 'Samples dropped by the client (duplicate timestamps, full queue).');
    this.exemplarsFailed = counter('prom_relay_remote_write_exemplars_failed_total', 'Exemplars a Remote Write 2.0 receiver answered 2xx to without writing them (its written-count header).');
    this.inFlight = gauge('prom_relay_remote_write_requests_in_flight', 'Remote write HTTP requests in flight.');
    this.queuedSamples = gauge('prom_relay_remote_write_queue_samples', 'Samples waiting in the asynchronous queue.');
    const fallbacksName = 'prom_relay_remote_write_protocol_fallbacks_total';
    this.fallbacks =
      (registry.getSingleMetric(fallbacksName) as Counter<'remote' | 'reason'> | undefined) ??
      new Counter({
        name: fallbacksName,
        help: 'Times protocol auto fell back from Remote Write 2.0 to 1.0, by reason (unsupported_media_type: 415; not_written: 2xx without the written-count headers).',
        labelNames: ['remote', 'reason'],
        registers: [registry],
      });
    const durationName = 'prom_relay_remote_write_request_duration_seconds';
    this.requestDuration =
      (registry.getSingleMetric(durationName) as PromHistogram<'remote' | 'code'> | undefined) ??
      new PromHistogram({
        name: durationName,
        help: 'Duration of remote write HTTP attempts, by status code (0: no answer).',
        labelNames: ['remote', 'code'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      });
    // Zero the series so dashboards see them before the first event.
    for (const c of [this.samplesSent, this.samplesFailed, this.samplesRetried, this.samplesDropped, this.exemplarsFailed]) c.inc({ remote }, 0);
    this.inFlight.set({ remote }, 0);
    this.queuedSamples.set({ remote }, 0);
  }

  add(counter: Counter<'remote'>, n: number): void {
    if (n > 0) counter.inc({ remote: this.remote }, n);
  }

  requestStarted(): void {
    this.inFlight.inc({ remote: this.remote });
  }

  requestEnded(seconds: number, statusCode: number | undefined): void {
    this.inFlight.dec({ remote: this.remote });
    this.requestDuration.observe({ remote: this.remote, code: String(statusCode ?? 0) }, seconds);
  }

  setQueued(samples: number): void {
    this.queuedSamples.set({ remote: this.remote }, samples);
  }
}
