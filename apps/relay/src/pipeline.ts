// The one place where the relay's stages are wired, in two halves that run together (`prom-relay run`) or apart:
//   ingest stage (`prom-relay ingest`, stateless): HTTP ingest (Pushgateway API, Remote Write) -> Kafka (input topic)
//   aggregator stage (`prom-relay aggregate`): source (Kafka group) -> decode -> aggregate (per partition)
//     -> repartition (partials to the owner of each output series) -> flush (Remote Write) -> checkpoint (compacted topic);
//     bad records -> DLQ
// Every role serves /metrics /healthz /readyz and the status page (/ and /api/v1/status) on one HTTP server.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { HEADER } from '@prom-relay/emitter';
import { RemoteWriteClient } from '@prom-relay/push-client';
import type { Logger } from 'pino';
import type { AggregateOptions, TotalRules } from './aggregate/index.js';
import { CheckpointStore } from './checkpoint/index.js';
import { dlqMaxMessageBytes, maskConfig, RECORD_OVERHEAD_BYTES, type RelayConfig } from './config/index.js';
import { decodeRecord, headerString, parseGrouping, type DecodeOptions } from './decode/index.js';
import { DeadLetterQueue } from './dlq/index.js';
import { Flusher, type FlushResult } from './flush/index.js';
import { keepAggregatorHeapSmall } from './heap/small-heap.js';
import { createIngest, type Ingest, type IngestAuth, type IngestMessage } from './ingest/index.js';
import { createCredentialCheck } from './ingest/auth.js';
import { connectKafka, InputTopics, isTooLarge, type KafkaConnection, type KafkaRecord, type RelayAdmin, type RelayProducer } from './kafka/index.js';
import { FORWARDED_HEADER, RepartitionMetrics, SeriesCombiner, SourceState, decodePartials, startRepartition, type CombineResult } from './repartition/index.js';
import { requestsWithin } from './kafka/message-bytes.js';
import { KafkaReachability } from './roles/kafka-reachability.js';
import { ProduceHealth } from './roles/produce-health.js';
import { RateLimitedLog } from './log/index.js';
import { KafkaSource } from './source/index.js';
import { RelayMetrics, serverConnectionOptions, startRelayServer, type Readiness, type RelayServer } from './server/index.js';
import { ExemplarDrops } from './server/exemplars-dropped.js';
import type { ExemplarPath } from './server/metrics.js';
import { buildSnapshot, errorText, StatusRecorder, type RelayRole, type StatusSnapshot } from './status/index.js';
import { RELAY_VERSION } from './version.js';

export type { RelayRole } from './status/index.js';

export interface Relay {
  /** base URL of the HTTP server (metrics, health, status page, ingest) */
  readonly url: string;
  readonly owner: string;
  readonly role: RelayRole;
  /** the Kafka source; undefined in the ingest role (it consumes nothing) */
  readonly source: KafkaSource | undefined;
  readonly metrics: RelayMetrics;
  /** what the status page shows beyond the live partitions (bounded) */
  readonly status: StatusRecorder;
  /** settles when the relay cannot go on (the consumer stopped for good): its caller should stop it and exit non-zero */
  readonly failed: Promise<Error>;
  /** flushes now (tests, shutdown); the ingest role holds nothing to flush and answers undefined */
  flush(): Promise<FlushResult | undefined>;
  /** this process's status page data */
  snapshot(): StatusSnapshot;
  /** this process's readiness (what /readyz answers when it is not one of several workers) */
  readiness(): Readiness;
  /** stop consuming, final flush and checkpoint, leave the group; bounded by shutdown.timeout */
  stop(): Promise<void>;
}

/** How a process that is one of several workers (ingest, aggregate) answers /metrics, the status page and /readyz for all of them. */
export interface StartOptions {
  /** this process is worker number `worker` of several sharing the port (their primary logs `relay started`) */
  worker?: number;
  metricsText?: () => Promise<string>;
  statusSnapshot?: () => Promise<StatusSnapshot>;
  readiness?: () => Promise<Readiness>;
  /** awaited before the stages start (the consumer joins its group): the aggregate processes of one primary join together */
  beforeJoin?: () => Promise<void>;
}

export function aggregateOptions(config: RelayConfig): AggregateOptions {
  const agg = config.aggregation;
  return {
    seriesTtlMs: agg.series_ttl,
    counterTtlMs: agg.counter_ttl,
    producerTtlMs: agg.producer_ttl,
    ...(agg.producer_labels ? { producerLabels: agg.producer_labels } : {}),
    limits: {
      maxSeries: agg.max_series,
      maxSeriesPerJob: agg.max_series_per_job,
      maxLabelsPerSeries: agg.max_labels_per_series,
      maxLabelValueLength: agg.max_label_value_length,
    },
    rules: agg.rules.map((r) => ({
      match: r.match,
      ...(r.outputs ? { outputs: r.outputs } : {}),
      ...(r.input_type ? { inputType: r.input_type } : {}),
      keepInput: r.keep_input,
      ...(r.by ? { by: r.by } : {}),
      ...(r.without ? { without: r.without } : {}),
      ...(r.buckets ? { buckets: r.buckets } : {}),
    })),
  };
}

/** The aggregation rules as plain data, for the ingest's check of values a rule reads as a running total. */
function totalRulesOf(config: RelayConfig): TotalRules {
  const agg = aggregateOptions(config);
  return { rules: agg.rules, ...(agg.producerLabels ? { producerLabels: agg.producerLabels } : {}) };
}

function remoteWriteClient(config: RelayConfig, metrics: RelayMetrics, logger: Logger): RemoteWriteClient {
  const rw = config.remote_write;
  return new RemoteWriteClient({
    url: rw.url,
    protocol: rw.protocol === '2.0' ? 'v2' : rw.protocol === 'auto' ? 'auto' : 'v1',
    // Once per process at most: auto keeps 1.0 after this.
    onFallback: (e) => {
      metrics.remoteWriteFallbacks.inc({ reason: e.reason });
      logger.warn(
        { stage: 'flush', reason: e.reason, status: e.statusCode, samples: e.samplesResent },
        e.reason === 'unsupported_media_type'
          ? 'the remote write receiver refuses Remote Write 2.0 (415): protocol auto uses 1.0 from now on; the batch was re-sent as 1.0'
          : 'the remote write receiver does not speak Remote Write 2.0 (2xx without X-Prometheus-Remote-Write-Samples-Written: nothing written): protocol auto uses 1.0 from now on; the batch was re-sent as 1.0',
      );
    },
    headers: rw.headers,
    timeoutMs: rw.timeout,
    maxSamplesPerRequest: rw.max_samples_per_request,
    concurrency: rw.concurrency,
    ...(rw.username !== undefined && rw.password !== undefined ? { basicAuth: { username: rw.username, password: rw.password } } : {}),
    ...(rw.bearer_token !== undefined ? { bearerToken: rw.bearer_token } : {}),
  });
}

/** One exemplar counter and log per process, whichever stages see exemplars (the ingest, the consumer). */
const exemplarDrops = new WeakMap<Shared, ExemplarDrops>();
function exemplarsDropped(sh: Shared, path: ExemplarPath, count: number): void {
  let drops = exemplarDrops.get(sh);
  if (drops === undefined) exemplarDrops.set(sh, (drops = new ExemplarDrops(sh.metrics, sh.logger.child({ stage: 'exemplars' }))));
  drops.dropped(path, count);
}

function ingestAuth(config: RelayConfig): IngestAuth | undefined {
  const { username, password, credentials, bearer_tokens: bearer } = config.ingest;
  const basic = credentials.flatMap((c) => (c.password === undefined ? [] : [{ username: c.username, password: c.password }]));
  if (username !== undefined && password !== undefined) basic.unshift({ username, password });
  return basic.length > 0 || bearer.length > 0 ? { basic, bearer } : undefined;
}

/** What the stages share: one Kafka connection, one producer, one metrics registry, one status recorder. */
interface Shared {
  config: RelayConfig;
  logger: Logger;
  role: RelayRole;
  owner: string;
  connection: KafkaConnection;
  admin: RelayAdmin;
  producer: RelayProducer;
  metrics: RelayMetrics;
  recorder: StatusRecorder;
  closers: (() => Promise<unknown>)[];
}

/** One half of the relay: its readiness, what it does once the server listens, and its first step of stopping. */
interface Stage {
  readiness(): Readiness;
  start(): Promise<void>;
  stop(): Promise<void>;
}

type PushFields = { job: string; grouping: Record<string, string>; producerId: string; op: string };

/** The push fields of a group's shared (frozen) message headers (the ingest's cached groups), read once per object. */
const pushFieldsOf = new WeakMap<object, PushFields | null>();

/** The push an acknowledged ingest message carries, for the status page's jobs table. */
function ingestedPush(m: IngestMessage, at: number): (PushFields & { at: number }) | undefined {
  const headers = (m.headers ?? {}) as Record<string, Buffer | string | undefined>;
  const shared = Object.isFrozen(headers);
  let fields = shared ? pushFieldsOf.get(headers) : undefined;
  if (fields === undefined) {
    fields = pushFields(headers);
    if (shared) pushFieldsOf.set(headers, fields);
  }
  return fields === null ? undefined : { ...fields, at };
}

function pushFields(headers: Record<string, Buffer | string | undefined>): PushFields | null {
  try {
    const job = headerString(headers, HEADER.job);
    const producerId = headerString(headers, HEADER.producer);
    if (job === undefined || producerId === undefined) return null;
    return { job, grouping: parseGrouping(headerString(headers, HEADER.grouping) ?? ''), producerId, op: headerString(headers, HEADER.op) ?? 'push' };
  } catch {
    return null;
  }
}

/**
 * The ingest stage: HTTP pushes to the input topic, 2xx once Kafka acknowledged. Holds no state, so any number of
 * ingest processes run behind a load balancer. Ready while Kafka answers and the ingest topic exists.
 */
function ingestStage(sh: Shared): Stage & { ingest: Ingest } {
  const { config, logger, metrics, recorder } = sh;
  const k = config.kafka;
  const ingestTopic = config.ingest.topic ?? k.topics[0]!;
  const reach = new KafkaReachability({ admin: sh.admin, topic: ingestTopic, logger: logger.child({ stage: 'ingest' }) });
  const produced = new ProduceHealth({ logger: logger.child({ stage: 'ingest' }) });
  // In `run` the consumer sees every push (also those produced straight to Kafka): it feeds the jobs table there.
  const feedJobs = sh.role === 'ingest';
  const auth = ingestAuth(config);
  const refusals = new RateLimitedLog(logger);
  // The topic's max.message.bytes, read once it answers: requests arriving during a produce are produced together
  // (the ingest's group commit), and pushes that each fit the topic may not fit one record batch together.
  // A push larger than it alone is answered 413 before its produce (ingest/topic-fit.ts); a size refusal reads it again.
  // Unreadable (no DescribeConfigs right): the size the relay would create it with, asked again a minute later, not per push.
  let topicLimit: number | undefined;
  let unreadableUntil = 0;
  const maxRequestBytes = async () => {
    if (topicLimit === undefined && Date.now() >= unreadableUntil) {
      topicLimit = await sh.admin.maxMessageBytes(ingestTopic);
      if (topicLimit === undefined) unreadableUntil = Date.now() + 60_000;
    }
    return topicLimit ?? config.ingest.max_body_bytes + RECORD_OVERHEAD_BYTES;
  };
  const ingest = createIngest({
    send: async (messages) => {
      try {
        for (const request of requestsWithin(messages, await maxRequestBytes())) await sh.producer.send(ingestTopic, request);
      } catch (err) {
        if (isTooLarge(err)) topicLimit = undefined;
        throw err;
      }
      if (feedJobs) {
        const now = Date.now();
        for (const m of messages) {
          const push = ingestedPush(m, now);
          if (push) recorder.pushed(push);
        }
      }
    },
    maxBodyBytes: config.ingest.max_body_bytes,
    topicLimit: async () => ({ topic: ingestTopic, maxMessageBytes: await maxRequestBytes() }),
    // A whole-job DELETE goes to every partition of the ingest topic (docs/message-format.md).
    partitions: async () => (await sh.admin.highWatermarks(ingestTopic)).size,
    ...(auth ? { auth } : {}),
    ...(config.aggregation.producer_labels ? { producerLabels: config.aggregation.producer_labels } : {}),
    // The consumer's decode options: the ingest answers 2xx only for what decodeRecord will take, and, with the
    // aggregation rules, only values the aggregate takes where a rule reads a gauge as a running total.
    decode: {
      limits: { maxLabelsPerSeries: config.aggregation.max_labels_per_series, maxLabelValueLength: config.aggregation.max_label_value_length },
      ...(config.aggregation.rules.length > 0 ? { totalRules: totalRulesOf(config) } : {}),
    },
    onExemplarsDropped: (count, version) => exemplarsDropped(sh, version === 2 ? 'remote_write_v2' : 'remote_write_v1', count),
    // `prom-relay ingest` is the ingest alone: its process keeps a small V8 heap (ingest README, Memory).
    smallHeap: sh.role === 'ingest',
    log: (entry) => {
      // Every answered request is counted; refusals are logged at most 5 lines per error code per 10 s (a flood of
      // bad pushes cannot flood the log), accepted ones at debug.
      metrics.ingestRequests.inc({ api: entry.api, status: String(entry.status), code: entry.code ?? 'none' });
      if (entry.code === 'PROM_RELAY_INGEST_UNAVAILABLE') produced.failed(entry.error ?? 'no acknowledgement');
      else if (entry.level === 'debug') produced.succeeded();
      if (entry.level === 'debug') logger.debug({ stage: 'ingest', ...entry }, entry.msg);
      else refusals.log(entry.level, `${entry.api}/${entry.code ?? entry.status}`, { stage: 'ingest', ...entry }, entry.msg);
    },
  });
  sh.closers.push(() => ingest.close());
  return {
    ingest,
    readiness: () => ({ ready: reach.ok && produced.ok, checks: { ...reach.checks(), produce: produced.check() } }),
    async start() {
      // Alone, the ingest may be the first to need its topic; in `run` the aggregator stage creates the input topics.
      if (k.create_topics && sh.role === 'ingest') {
        await sh.admin.ensureTopic(ingestTopic, {
          partitions: k.topic_partitions,
          maxMessageBytes: config.ingest.max_body_bytes + RECORD_OVERHEAD_BYTES,
          ...(k.topic_replication_factor ? { replicationFactor: k.topic_replication_factor } : {}),
        });
      }
      await reach.look();
      reach.start();
    },
    async stop() {
      reach.stop();
    },
  };
}

/** The aggregator stage: consume, decode, aggregate, repartition, flush, checkpoint; no ingest routes. */
async function aggregatorStage(sh: Shared, fail: (err: Error) => void): Promise<Stage & { source: KafkaSource; flush(): Promise<FlushResult>; partialsTopic: string }> {
  const { config, logger, admin, producer, connection, owner, metrics, recorder } = sh;
  const aggregateRefusals = new RateLimitedLog(logger.child({ stage: 'aggregate' }));
  const k = config.kafka;
  const replication = k.topic_replication_factor ? { replicationFactor: k.topic_replication_factor } : {};
  const inputTopics = new InputTopics({
    admin,
    topics: k.topics,
    logger: logger.child({ stage: 'kafka' }),
    ...(k.create_topics ? { create: { partitions: k.topic_partitions, ...replication, ...(config.ingest.enabled ? { maxMessageBytes: config.ingest.max_body_bytes + RECORD_OVERHEAD_BYTES } : {}) } } : {}),
  });
  if (k.create_topics) {
    await inputTopics.ensure();
    await admin.ensureTopic(k.dlq_topic, { partitions: 1, maxMessageBytes: dlqMaxMessageBytes(config), ...replication });
  }
  // The repartition stage: one owner per output series, whatever partition its inputs arrive on.
  const rp = await startRepartition(config, admin, producer, logger.child({ stage: 'repartition' }));
  sh.closers.push(async () => rp.homes.stop());

  const checkpoints = new CheckpointStore({
    connection,
    producer,
    admin,
    topic: k.checkpoint_topic,
    groupId: k.group_id,
    owner,
    maxMessageBytes: k.checkpoint_max_message_bytes,
    createTopic: k.create_topics,
    logger: logger.child({ stage: 'checkpoint' }),
    onSkipped: (reason) => metrics.checkpointRecordsSkipped.inc({ reason }),
  });
  await checkpoints.start();
  sh.closers.push(() => checkpoints.stop());

  const consumer = connection.consumer({
    groupId: k.group_id,
    topics: [...k.topics, rp.topic],
    fromBeginning: k.from_beginning,
    sessionTimeout: k.session_timeout,
    heartbeatInterval: k.heartbeat_interval,
    rebalanceTimeout: k.rebalance_timeout,
    maxBytesPerPartition: k.max_bytes_per_partition,
  });

  const repartitionMetrics = new RepartitionMetrics(metrics.registry, () => source.owned());
  const carriedEnds = repartitionMetrics.carriedEnds(logger.child({ stage: 'repartition' }));
  const deadLetter = (outcome: 'sent' | 'given_up', reason: { code: string; message: string }, record: KafkaRecord, error?: string) =>
    recorder.deadLetter({ reason: reason.code, outcome, error: error === undefined ? reason.message : `${reason.message} (DLQ: ${error})`, topic: record.topic, partition: record.partition, offset: record.offset });
  const deadLetters = new DeadLetterQueue({
    producer,
    topic: k.dlq_topic,
    maxMessageBytes: dlqMaxMessageBytes(config),
    topicLimit: () => admin.maxMessageBytes(k.dlq_topic),
    logger: logger.child({ stage: 'dlq' }),
    events: {
      sent: (reason, record, truncated) => {
        metrics.deadLetters.inc({ reason: reason.code });
        if (truncated.length > 0) metrics.deadLettersTruncated.inc({ reason: reason.code });
        deadLetter('sent', reason, record);
      },
      failed: (reason, record, error) => {
        metrics.deadLettersFailed.inc({ reason: reason.code, error });
        deadLetter('given_up', reason, record, error);
      },
    },
  });
  const aggOpts = aggregateOptions(config);
  const decodeOptions: DecodeOptions = {
    limits: { maxLabelsPerSeries: config.aggregation.max_labels_per_series, maxLabelValueLength: config.aggregation.max_label_value_length },
    // A message is decoded once, at its home: one landed elsewhere is forwarded undecoded.
    onExemplarsDropped: (count, format) =>
      exemplarsDropped(sh, format === 'metric-family' ? 'kafka_metric_family' : format === 'remote-write-v2' ? 'kafka_remote_write_v2' : 'kafka_remote_write_v1', count),
  };
  // An owner shares the key string and labels of a series with the source partition here that feeds it, if any.
  const combineOpts = {
    ...rp.combine,
    shared: (id: string) => source.findOwned((p) => (p.role === 'source' ? (p.aggregate as SourceState).aggregate.outputSeries(id) : undefined)),
  };
  const source: KafkaSource = new KafkaSource({
    consumer,
    highWatermarks: (topic) => admin.highWatermarks(topic),
    ...(admin.watermarks ? { watermarks: (topic: string) => admin.watermarks!(topic) } : {}),
    onFatal: (err) => fail(err),
    checkpoints,
    deadLetters,
    owner,
    logger: logger.child({ stage: 'source' }),
    decode: (record) => {
      if (record.topic === rp.topic) return decodePartials(record.value ?? Buffer.alloc(0));
      const batch = decodeRecord(record, decodeOptions);
      // The jobs table of the status page (a message is decoded once, at its home: see homes.ts).
      const ts = Number(record.timestamp);
      recorder.pushed({ job: batch.job, grouping: batch.grouping, producerId: batch.producerId, op: batch.op, at: Number.isFinite(ts) && ts > 0 ? ts : Date.now() });
      return batch;
    },
    states: {
      role: (tp) => (tp.topic === rp.topic ? 'owner' : 'source'),
      create: (tp) => (tp.topic === rp.topic ? new SeriesCombiner(combineOpts) : SourceState.create(aggOpts, rp.combine.ttlMs, carriedEnds)),
      restore: (state, tp) => (tp.topic === rp.topic ? SeriesCombiner.fromState(state, combineOpts) : SourceState.fromState(state, aggOpts, rp.combine.ttlMs, carriedEnds)),
    },
    homes: rp.homes,
    events: {
      consumed: (tp, n, bytes) => metrics.consumed(tp, n, bytes),
      deadLetter: (code) => metrics.decodeErrors.inc({ reason: code }),
      forwarded: (tp) => repartitionMetrics.forwarded.inc({ topic: tp.topic }),
      forwardFailed: (tp) => metrics.forwardFailures.inc({ topic: tp.topic, partition: String(tp.partition) }),
      applied: (p, result) => {
        if (p.role === 'owner') {
          const combined = result as CombineResult;
          repartitionMetrics.combined(combined);
          // An output series fed as one type by one partition and as another by another (a delta counter pushed beside
          // the group's gauge of that name): the owner keeps the first, the other's values are refused.
          if (combined.conflicts > 0) {
            aggregateRefusals.log('warn', `partials_conflict/${p.key}`, { partition: p.key, partials: combined.conflicts, code: 'PROM_RELAY_PARTIALS_CONFLICT' },
              'partials refused: their output series is fed as another type from another source partition (one name pushed as counter and as gauge); prom_relay_partials_received_total{result="conflict"}');
          }
          return;
        }
        metrics.applied(result);
        const conflicts = (result as { typeConflicts?: number }).typeConflicts ?? 0;
        if (conflicts > 0) {
          aggregateRefusals.log('warn', `type_conflict/${p.key}`, { partition: p.key, points: conflicts, code: 'PROM_RELAY_AGGREGATE_TYPE_CONFLICT' },
            'points refused: their output series exists as another type (one name pushed as counter and as gauge under one job)');
        }
        const unmatched = (result as { exemplarsUnmatched?: number }).exemplarsUnmatched ?? 0;
        if (unmatched > 0) exemplarsDropped(sh, 'no_sample', unmatched);
        const { invalid = 0, limitHits, duplicates = 0, duplicate = false } = result as { invalid?: number; limitHits?: Record<string, number>; duplicates?: number; duplicate?: boolean };
        // Routine after a sender's retry (Prometheus sends a batch again after a 5xx), a sign of a bug when a producer id
        // and its sequence numbers are reused across runs: either way not applied, so said (info, rate-limited).
        if (duplicates > 0) {
          aggregateRefusals.log('info', `duplicate/${p.key}`, { partition: p.key, points: duplicates, batch: duplicate, code: 'PROM_RELAY_AGGREGATE_DUPLICATE' },
            duplicate
              ? 'push ignored: its producer already sent this sequence number or a later one (a retried send; or a producer id reused by another run, whose points are then lost)'
              : 'points ignored: older than a sample their producer applied to the series since (a retried or delayed request)');
        }
        const limits = limitHits === undefined ? [] : Object.entries(limitHits).filter(([, n]) => n > 0);
        if (limits.length > 0) {
          aggregateRefusals.log('warn', `limit/${p.key}`, { partition: p.key, limits: Object.fromEntries(limits), code: 'PROM_RELAY_AGGREGATE_LIMIT' },
            'points refused at a limit of aggregation (limits: points per limit; prom_relay_limit_hits_total)');
        }
        if (invalid > 0) {
          aggregateRefusals.log('warn', `invalid/${p.key}`, { partition: p.key, points: invalid, code: 'PROM_RELAY_AGGREGATE_INVALID' },
            'points refused: a value a total cannot take (negative, non-finite or over 1e300) or a native histogram that does not fit its series');
        }
      },
      restored: (_p, from) => metrics.restores.inc({ from }),
      restoreFailed: (tp) => metrics.restoreFailures.inc({ topic: tp.topic, partition: String(tp.partition) }),
      offsetsWentBack: (p) => metrics.offsetsWentBack.inc({ topic: p.topic, partition: String(p.partition) }),
    },
  });

  // Partitions that cannot advance: a dead letter or forwarded pushes not written yet (/readyz `stalled`, the gauge).
  const stalledPartitions = () => [...deadLetters.stalled(), ...source.stalled()];
  metrics.stalledPartitions = stalledPartitions;

  const sendTimeoutMs = Math.max(1000, Math.min(config.remote_write.retry_max_elapsed, config.flush.interval * 3));
  const flusher = new Flusher({
    sink: remoteWriteClient(config, metrics, logger),
    publisher: rp.publisher,
    checkpoints,
    consumer,
    partitions: () => source.flushable(),
    logger: logger.child({ stage: 'flush' }),
    sendTimeoutMs,
    sendMetadata: config.remote_write.send_metadata,
    sourceCheckpointIntervalMs: config.flush.source_checkpoint_interval,
    onFlush: (r) => {
      metrics.flushed(r);
      // Exemplars the receiver answered 2xx to without writing them: dropped, counted and logged as the others are.
      if (r.exemplarsFailed) exemplarsDropped(sh, 'remote_write_receiver', r.exemplarsFailed);
      repartitionMetrics.published.inc(r.partialsPublished);
      recorder.flushed(r);
      logger.debug({ stage: 'flush', status: r.status, series: r.series, partitions: r.partitions, ms: Math.round(r.durationMs) }, 'flushed');
    },
  });

  return {
    source,
    partialsTopic: rp.topic,
    flush: () => flusher.flush(),
    readiness: () => {
      const last = flusher.lastResult;
      const flushOk = last === undefined || last.status === 'success' || last.status === 'empty';
      const assigned = source.assignment.length > 0;
      const stalled = stalledPartitions().map((p) => `${p.topic}/${p.partition}`);
      return {
        ready: source.ready && flushOk && stalled.length === 0 && inputTopics.missing().length === 0,
        checks: { assigned, restored: source.ready, last_flush: last?.status ?? 'none', input_topics: inputTopics.check(), stalled: stalled.join(',') || 'none' },
      };
    },
    async start() {
      await inputTopics.ensure();
      await source.start();
      sh.closers.push(() => consumer.stop());
      flusher.start(config.flush.interval);
    },
    async stop() {
      flusher.stop();
      source.stopConsuming();
      deadLetters.stop();
      // Half the shutdown budget for the final send: the checkpoint and leaving the group need the rest.
      const final = await flusher.flush({ sendTimeoutMs: Math.min(sendTimeoutMs, config.shutdown.timeout / 2), checkpointAll: true }).catch((err: unknown) => {
        logger.error({ err }, 'final flush failed');
        return undefined;
      });
      logger.info({ status: final?.status, series: final?.series, error: errorText(final?.error) }, 'final flush and checkpoint done');
    },
  };
}

/** Starts the stages of `role` on one Kafka connection and one HTTP server; resolves once they consume and serve. */
async function startRole(config: RelayConfig, logger: Logger, role: RelayRole, opts: StartOptions = {}): Promise<Relay> {
  const owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const startedAt = Date.now();
  const k = config.kafka;
  const connection = connectKafka({
    brokers: k.brokers,
    clientId: k.client_id,
    connectionTimeout: k.connection_timeout,
    requestTimeout: k.request_timeout,
    logger: logger.child({ stage: 'kafka' }),
    ...(k.topic_replication_factor ? { topicReplicationFactor: k.topic_replication_factor } : {}),
    ssl: { enabled: k.ssl.enabled, caFile: k.ssl.ca_file, certFile: k.ssl.cert_file, keyFile: k.ssl.key_file, rejectUnauthorized: k.ssl.reject_unauthorized },
    ...(k.sasl ? { sasl: { mechanism: k.sasl.mechanism, username: k.sasl.username, password: k.sasl.password ?? '' } } : {}),
  });
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err }, 'close failed'));
  };
  try {
    const admin: RelayAdmin = await connection.admin();
    closers.push(() => admin.disconnect());
    const producer: RelayProducer = await connection.producer();
    closers.push(() => producer.disconnect());

    let fail: (err: Error) => void = () => {};
    const failed = new Promise<Error>((resolve) => (fail = resolve));
    // Metrics read the source's partitions lazily; the aggregator stage creates the source just below.
    let aggregator: Awaited<ReturnType<typeof aggregatorStage>> | undefined;
    const metrics = new RelayMetrics(() => aggregator?.source.owned() ?? []);
    const recorder = new StatusRecorder();
    const sh: Shared = { config, logger, role, owner, connection, admin, producer, metrics, recorder, closers };

    // `aggregate` and `run`: the old generation kept near the aggregator's live state (apps/relay/README.md, Memory);
    // `prom-relay ingest` keeps its own small heap (createIngest's smallHeap).
    const heap = role !== 'ingest' ? keepAggregatorHeapSmall(config.aggregation.heap_growing_percent) : undefined;
    if (heap) closers.push(async () => heap.stop());
    const ingest = role !== 'aggregate' && config.ingest.enabled ? ingestStage(sh) : undefined;
    if (role === 'ingest' && !ingest) throw new Error('prom-relay ingest with ingest.enabled false: nothing to run');
    if (role !== 'ingest') aggregator = await aggregatorStage(sh, fail);
    const stages = [ingest, aggregator].filter((s): s is NonNullable<typeof s> => s !== undefined);

    const readiness = (): Readiness => {
      const parts = stages.map((s) => s.readiness());
      return { ready: parts.every((p) => p.ready), checks: Object.assign({}, ...parts.map((p) => p.checks)) as Readiness['checks'] };
    };
    const masked = maskConfig(config);
    const snapshot = (): StatusSnapshot =>
      buildSnapshot({
        version: RELAY_VERSION,
        role,
        owner,
        startedAt,
        readiness: readiness(),
        recorder,
        ...(aggregator ? { partitions: aggregator.source.owned(), partialsTopic: aggregator.partialsTopic } : {}),
        maskedConfig: masked,
      });
    const auth = ingestAuth(config);
    const server: RelayServer = await startRelayServer({
      host: config.server.host,
      port: config.server.port,
      registry: metrics.registry,
      ...(opts.metricsText ? { metricsText: opts.metricsText } : {}),
      ...serverConnectionOptions(config.server, metrics),
      logger: logger.child({ stage: 'server' }),
      ...(ingest ? { ingest: ingest.ingest } : {}),
      readiness: opts.readiness ?? readiness,
      // Behind the ingest's credentials when they are configured: the page names jobs, producers and topics.
      status: { snapshot: opts.statusSnapshot ?? (async () => snapshot()), ...(auth ? { auth: createCredentialCheck(auth) } : {}) },
    });
    closers.push(() => server.close());

    await opts.beforeJoin?.();
    await Promise.all(stages.map((s) => s.start()));
    if (opts.worker === undefined) logger.info({ owner, role, url: server.url, topics: k.topics, group: k.group_id }, 'relay started');
    else logger.info({ owner, role, worker: opts.worker, pid: process.pid, url: server.url }, `${role} worker started`);

    let stopping: Promise<void> | undefined;
    const stop = async () => {
      for (const s of stages) await s.stop();
      // Leaves the group only now, so no other relay took the partitions before the last checkpoint.
      await closeAll();
      logger.info('relay stopped');
    };
    return {
      url: server.url,
      owner,
      role,
      source: aggregator?.source,
      metrics,
      status: recorder,
      failed,
      flush: async () => aggregator?.flush(),
      snapshot,
      readiness,
      stop: () => (stopping ??= stop()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** `prom-relay run`: both stages in one process. */
export function startRelay(config: RelayConfig, logger: Logger): Promise<Relay> {
  return startRole(config, logger, 'run');
}

/** `prom-relay ingest`: the HTTP ingest alone (stateless; `opts` when this process is one of several workers). */
export function startIngest(config: RelayConfig, logger: Logger, opts: StartOptions = {}): Promise<Relay> {
  return startRole(config, logger, 'ingest', opts);
}

/** `prom-relay aggregate`: consume, aggregate, repartition, flush and checkpoint; no ingest routes. */
export function startAggregator(config: RelayConfig, logger: Logger): Promise<Relay> {
  return startRole(config, logger, 'aggregate');
}

/** Starts `role`. */
export function startRelayRole(config: RelayConfig, logger: Logger, role: RelayRole, opts: StartOptions = {}): Promise<Relay> {
  return startRole(config, logger, role, opts);
}
