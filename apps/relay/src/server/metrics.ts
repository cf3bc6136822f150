// The relay's own metrics on /metrics (prom-client): what it consumed, dropped, holds, flushed and checkpointed.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CHECKPOINT_SKIP_REASONS } from '../checkpoint/index.js';
import { SAMPLES_FAILED_REASONS, type FlushResult } from '../flush/index.js';
import type { TopicPartition } from '../kafka/index.js';
import type { OwnedPartition } from '../source/index.js';
import { RELAY_VERSION } from '../version.js';

/**
 * The `path` values of prom_relay_exemplars_dropped_total (`no_sample`: the aggregate's, see ExemplarDrops;
 * `remote_write_receiver`: a Remote Write 2.0 receiver's 2xx that did not write them, the flush's).
 */
export const EXEMPLAR_PATHS = ['remote_write_v1', 'remote_write_v2', 'kafka_remote_write_v1', 'kafka_remote_write_v2', 'kafka_metric_family', 'no_sample', 'remote_write_receiver'] as const;
export type ExemplarPath = (typeof EXEMPLAR_PATHS)[number];

export class RelayMetrics {
  readonly registry: Registry;
  readonly messagesConsumed: Counter<'topic' | 'partition'>;
  readonly bytesConsumed: Counter<'topic' | 'partition'>;
  readonly decodeErrors: Counter<'reason'>;
  readonly deadLetters: Counter<'reason'>;
  readonly pointsRejected: Counter<'reason'>;
  readonly limitHits: Counter<'limit'>;
  readonly flushDuration: Histogram<'result'>;
  readonly flushes: Counter<'result'>;
  readonly samplesSent: Counter;
  readonly samplesFailed: Counter<'reason'>;
  readonly samplesRetried: Counter;
  readonly remoteWriteFallbacks: Counter<'reason'>;
  readonly exemplarsDropped: Counter<'path'>;
  readonly restores: Counter<'from'>;
  readonly offsetsWentBack: Counter<'topic' | 'partition'>;
  readonly forwardFailures: Counter<'topic' | 'partition'>;
  readonly restoreFailures: Counter<'topic' | 'partition'>;
  readonly checkpointRecordsSkipped: Counter<'reason'>;
  readonly ingestRequests: Counter<'api' | 'status' | 'code'>;
  readonly httpConnectionsRefused: Counter;
  readonly httpTimeouts: Counter<'kind'>;
  readonly httpConnections: Gauge;
  readonly httpRequestsRefused: Counter<'route' | 'status'>;
  readonly deadLettersTruncated: Counter<'reason'>;
  readonly deadLettersFailed: Counter<'reason' | 'error'>;
  readonly heapCompactions: Counter;
  /** partitions that cannot advance right now (the DLQ's and the source's stalled()); set by the pipeline */
  stalledPartitions: () => { topic: string; partition: number; since: number }[] = () => [];

  constructor(partitions: () => OwnedPartition[], registry = new Registry()) {
    this.registry = registry;
    // prom-client's default names already start with process_ or nodejs_: prom_relay_process_cpu_seconds_total.
    collectDefaultMetrics({ register: registry, prefix: 'prom_relay_' });
    const registers = [registry];
    new Gauge({
      name: 'prom_relay_build_info',
      help: 'Always 1; the labels say which relay version runs on which Node.js.',
      labelNames: ['version', 'node_version'],
      registers,
      // Ingest workers' metrics are summed (AggregatorRegistry): this one is the same in every worker.
      aggregator: 'first',
    }).set({ version: RELAY_VERSION, node_version: process.version }, 1);
    this.messagesConsumed = new Counter({
      name: 'prom_relay_messages_consumed_total',
      help: 'Kafka records consumed, per source partition.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.bytesConsumed = new Counter({
      name: 'prom_relay_bytes_consumed_total',
      help: 'Key and value bytes of Kafka records consumed, per source partition.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.decodeErrors = new Counter({
      name: 'prom_relay_decode_errors_total',
      help: 'Records that could not be decoded or validated, by error code.',
      labelNames: ['reason'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'prom_relay_dead_letters_total',
      help: 'Records written to the dead-letter topic, by error code.',
      labelNames: ['reason'],
      registers,
    });
    this.pointsRejected = new Counter({
      name: 'prom_relay_points_rejected_total',
      help: 'Decoded points the aggregate did not apply: duplicate (replayed sequence, or a Remote Write sample older than one applied: a retried request), invalid value, type_conflict (the series or its output series exists as another type), sibling (another point of its histogram or summary was refused: they are applied together), or limit.',
      labelNames: ['reason'],
      registers,
    });
    this.limitHits = new Counter({
      name: 'prom_relay_limit_hits_total',
      help: 'Output series creations refused by a limit.',
      labelNames: ['limit'],
      registers,
    });
    this.flushDuration = new Histogram({
      name: 'prom_relay_flush_duration_seconds',
      help: 'Duration of one flush: snapshot, checkpoint and remote write.',
      labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.flushes = new Counter({ name: 'prom_relay_flushes_total', help: 'Flushes, by result.', labelNames: ['result'], registers });
    this.samplesSent = new Counter({ name: 'prom_relay_samples_sent_total', help: 'Samples accepted by the remote write receiver.', registers });
    this.samplesFailed = new Counter({
      name: 'prom_relay_samples_failed_total',
      help: 'Samples not delivered, by reason: refused (the receiver refused them for good: a 4xx, or a 2.0 partial write), retries_exhausted (5xx, 429 or network errors until the retries or the deadline ran out), error (the write threw); the next flush carries their totals.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of SAMPLES_FAILED_REASONS) this.samplesFailed.inc({ reason }, 0);
    this.samplesRetried = new Counter({ name: 'prom_relay_samples_retried_total', help: 'Sample sends repeated after a retryable answer.', registers });
    this.remoteWriteFallbacks = new Counter({
      name: 'prom_relay_remote_write_fallbacks_total',
      help: 'Times remote_write.protocol auto fell back from Remote Write 2.0 to 1.0 (the batch re-sent as 1.0), by reason: unsupported_media_type (415) or not_written (2xx without X-Prometheus-Remote-Write-*-Written).',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['unsupported_media_type', 'not_written']) this.remoteWriteFallbacks.inc({ reason }, 0);
    this.exemplarsDropped = new Counter({
      name: 'prom_relay_exemplars_dropped_total',
      help: 'Exemplars received and not carried, never counted as written (the others reach the output: the latest per output series). Over the limits (label names and values together more than 128 UTF-8 characters, or a timestamp more than 10 minutes ahead), by input: remote_write_v1, remote_write_v2 (HTTP ingest), kafka_remote_write_v1, kafka_remote_write_v2 (Remote Write messages on the topic); no_sample: sent alone for a series no sample had fed yet.',
      labelNames: ['path'],
      registers,
    });
    for (const path of EXEMPLAR_PATHS) this.exemplarsDropped.inc({ path }, 0);
    this.deadLettersTruncated = new Counter({
      name: 'prom_relay_dead_letters_truncated_total',
      help: 'Dead letters cut down to fit the DLQ topic max.message.bytes (headers prom-relay-dlq-truncated and -original-bytes), by error code.',
      labelNames: ['reason'],
      registers,
    });
    this.deadLettersFailed = new Counter({
      name: 'prom_relay_dead_letters_failed_total',
      help: 'Dead letters given up after bounded attempts (the DLQ refused them for good): their partition moved on without them.',
      labelNames: ['reason', 'error'],
      registers,
    });
    this.heapCompactions = new Counter({
      name: 'prom_relay_heap_compactions_total',
      help: 'Memory-reducing GCs run because a major GC left the old generation mostly holes (aggregation.heap_compaction): each a pause of the event loop.',
      registers,
    });
    this.forwardFailures = new Counter({
      name: 'prom_relay_forward_failures_total',
      help: 'Failed attempts to forward pushes consumed on a partition to their home partitions (retried; the partition waits meanwhile), by the partition consumed.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.restoreFailures = new Counter({
      name: 'prom_relay_restore_failures_total',
      help: 'Failed attempts to restore a partition from its checkpoint (retried; the partition is not consumed meanwhile and /readyz fails restored).',
      labelNames: ['topic', 'partition'],
      registers,
    });
    const stalled = () => this.stalledPartitions();
    new Gauge({
      name: 'prom_relay_partition_stalled_seconds',
      help: 'Seconds a source partition has been unable to advance (its dead letter, or the pushes it forwards to their home partitions, not written yet); absent when it advances.',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const p of stalled()) this.set({ topic: p.topic, partition: String(p.partition) }, (now - p.since) / 1000);
      },
    });
    this.httpConnectionsRefused = new Counter({
      name: 'prom_relay_http_connections_refused_total',
      help: 'HTTP connections closed on arrival because server.max_connections were open.',
      registers,
    });
    this.httpTimeouts = new Counter({
      name: 'prom_relay_http_timeouts_total',
      help: 'HTTP connections closed (408) because the client was too slow: kind headers (server.headers_timeout) or request (server.request_timeout).',
      labelNames: ['kind'],
      registers,
    });
    this.httpConnections = new Gauge({ name: 'prom_relay_http_connections', help: 'HTTP connections open.', registers });
    this.httpRequestsRefused = new Counter({
      name: 'prom_relay_http_requests_refused_total',
      help: "Requests the relay's own routes refused (the ingest's answers are prom_relay_ingest_requests_total), by route (status, metrics, healthz, readyz, ingest, none: no such route) and status: 401 (the status page without valid credentials), 404, 500 (a handler threw).",
      labelNames: ['route', 'status'],
      registers,
    });
    this.ingestRequests = new Counter({
      name: 'prom_relay_ingest_requests_total',
      help: 'HTTP ingest requests answered, by API (pushgateway, remote_write), status and error code (none when accepted).',
      labelNames: ['api', 'status', 'code'],
      registers,
    });
    this.restores = new Counter({
      name: 'prom_relay_partition_restores_total',
      help: 'Partitions taken on, by where their state came from (checkpoint, memory, empty).',
      labelNames: ['from'],
      registers,
    });
    this.offsetsWentBack = new Counter({
      name: 'prom_relay_source_offsets_went_back_total',
      help: "Times a partition's log was found ending below the offset its state covers (its topic deleted and created again, or truncated): the state went on from the new log's start.",
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.checkpointRecordsSkipped = new Counter({
      name: 'prom_relay_checkpoint_records_skipped_total',
      help: 'Records of the checkpoint topic left out of restores as no checkpoint a relay wrote, by reason: no_key, no_offset (no numeric offset header), bad_flush_time.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of CHECKPOINT_SKIP_REASONS) this.checkpointRecordsSkipped.inc({ reason }, 0);
    new Gauge({
      name: 'prom_relay_active_series',
      help: 'Output series held in memory, per source partition.',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const p of partitions()) this.set({ topic: p.topic, partition: String(p.partition) }, p.aggregate.seriesCount);
      },
    });
    new Gauge({
      name: 'prom_relay_consumer_lag',
      help: 'Records between the high watermark and the next offset to apply, per source partition.',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const p of partitions()) this.set({ topic: p.topic, partition: String(p.partition) }, p.lag);
      },
    });
    new Gauge({
      name: 'prom_relay_checkpoint_age_seconds',
      help: 'Seconds since the last checkpoint of each source partition was written or restored.',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const p of partitions()) {
          if (p.lastCheckpointAt !== undefined) this.set({ topic: p.topic, partition: String(p.partition) }, (now - p.lastCheckpointAt) / 1000);
        }
      },
    });
    new Gauge({
      name: 'prom_relay_checkpoint_bytes',
      help: 'Size of the last checkpoint of each source partition (compressed).',
      labelNames: ['topic', 'partition'],
      registers,
      collect() {
        this.reset();
        for (const p of partitions()) {
          if (p.lastCheckpointBytes !== undefined) this.set({ topic: p.topic, partition: String(p.partition) }, p.lastCheckpointBytes);
        }
      },
    });
    new Gauge({
      name: 'prom_relay_partitions_owned',
      help: 'Source partitions owned and restored.',
      registers,
      collect() {
        this.set(partitions().length);
      },
    });
  }

  consumed(tp: TopicPartition, records: number, bytes: number): void {
    const labels = { topic: tp.topic, partition: String(tp.partition) };
    this.messagesConsumed.inc(labels, records);
    this.bytesConsumed.inc(labels, bytes);
  }

  /** Counts what an aggregate's apply() reports: duplicates, invalid values and limit hits. */
  applied(result: unknown): void {
    if (typeof result !== 'object' || result === null) return;
    const r = result as { duplicates?: number; invalid?: number; typeConflicts?: number; siblings?: number; rejected?: number; limitHits?: Record<string, number> };
    if (r.duplicates) this.pointsRejected.inc({ reason: 'duplicate' }, r.duplicates);
    if (r.invalid) this.pointsRejected.inc({ reason: 'invalid' }, r.invalid);
    if (r.typeConflicts) this.pointsRejected.inc({ reason: 'type_conflict' }, r.typeConflicts);
    if (r.siblings) this.pointsRejected.inc({ reason: 'sibling' }, r.siblings);
    const limited = r.limitHits ? Object.values(r.limitHits).reduce((a, b) => a + b, 0) : 0;
    const other = (r.invalid ?? 0) + (r.typeConflicts ?? 0) + (r.siblings ?? 0);
    if (r.rejected && r.rejected > other) this.pointsRejected.inc({ reason: 'limit' }, r.rejected - other);
    if (limited > 0) for (const [limit, n] of Object.entries(r.limitHits!)) if (n > 0) this.limitHits.inc({ limit }, n);
  }

  flushed(result: FlushResult): void {
    this.flushes.inc({ result: result.status });
    this.flushDuration.observe({ result: result.status }, result.durationMs / 1000);
    if (result.samplesSent) this.samplesSent.inc(result.samplesSent);
    for (const [reason, n] of Object.entries(result.samplesFailedBy ?? {})) if (n) this.samplesFailed.inc({ reason }, n);
    if (result.samplesRetried) this.samplesRetried.inc(result.samplesRetried);
  }
}
