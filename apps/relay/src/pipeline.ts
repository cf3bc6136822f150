// The one place where the relay's stages are wired, in two halves that run together (`prom-relay run`) or apart:
//   ingest stage (`prom-relay ingest`, stateless): HTTP ingest (Pushgateway API, Remote Write) -> Kafka (input topic)
//   aggregator stage (`prom-relay aggregate`): source (Kafka group) -> decode -> aggregate (per partition)
//     -> repartition (partials to the owner of each output series) -> flush (Remote Write) -> checkpoint (compacted topic);
//     bad records -> DLQ
// Every role serves /metrics /healthz /readyz and the status page (/ and /api/v1/status) on one HTTP server.
// What is not wiring is in roles/: stage-options.ts (config to options), applied-refusals.ts, stage-accounting.ts, ...
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { CheckpointStore } from './checkpoint/index.js';
import { dlqMaxMessageBytes, maskConfig, RECORD_OVERHEAD_BYTES, type RelayConfig } from './config/index.js';
import { decodeRecord, type DecodeOptions } from './decode/index.js';
import { DeadLetterQueue } from './dlq/index.js';
import { Flusher, type FlushResult } from './flush/index.js';
import { compactWhenFragmented, wasteShareFor } from './heap/compaction.js';
import { keepAggregatorHeapSmall } from './heap/small-heap.js';
import { createIngest, type Ingest } from './ingest/index.js';
import { createCredentialCheck } from './ingest/auth.js';
import { connectKafka, InputTopics, isTooLarge, type KafkaConnection, type RelayAdmin, type RelayProducer } from './kafka/index.js';
import { RepartitionMetrics, SeriesCombiner, SourceState, decodePartials, startRepartition, type CombineResult } from './repartition/index.js';
import { requestsWithin } from './kafka/message-bytes.js';
import { AppliedRefusals } from './roles/applied-refusals.js';
import { ingestedPush } from './roles/ingested-push.js';
import { IngestTopicLimit } from './roles/ingest-topic-limit.js';
import { KafkaReachability } from './roles/kafka-reachability.js';
import { ProduceHealth } from './roles/produce-health.js';
import { deadLetterEvents, ingestRequestLog } from './roles/stage-accounting.js';
import { aggregateOptions, decodeLimits, ingestAuth, kafkaConnectionOptions, remoteWriteClient, totalRulesOf } from './roles/stage-options.js';
import { KafkaSource } from './source/index.js';
import { RelayMetrics, serverConnectionOptions, startRelayServer, type Readiness, type RelayServer } from './server/index.js';
import { ExemplarDrops } from './server/exemplars-dropped.js';
import { buildSnapshot, errorText, StatusRecorder, type RelayRole, type StatusSnapshot } from './status/index.js';
import { RELAY_VERSION } from './version.js';

export type { RelayRole } from './status/index.js';
export { aggregateOptions } from './roles/stage-options.js';

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
  /** one exemplar counter and log per process, whichever stages see exemplars (the ingest, the consumer) */
  exemplars: ExemplarDrops;
  closers: (() => Promise<unknown>)[];
}

/** One half of the relay: its readiness, what it does once the server listens, and its first step of stopping. */
interface Stage {
  readiness(): Readiness;
  start(): Promise<void>;
  stop(): Promise<void>;
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
  // Each produce request fits the topic's max.message.bytes (requests arriving during a produce go together).
  const topicLimit = new IngestTopicLimit(sh.admin, ingestTopic, config.ingest.max_body_bytes + RECORD_OVERHEAD_BYTES);
  const ingest = createIngest({
    send: async (messages) => {
      try {
        for (const request of requestsWithin(messages, await topicLimit.bytes())) await sh.producer.send(ingestTopic, request);
      } catch (err) {
        if (isTooLarge(err)) topicLimit.forget();
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
    topicLimit: async () => ({ topic: ingestTopic, maxMessageBytes: await topicLimit.bytes() }),
    // A whole-job DELETE goes to every partition of the ingest topic (docs/message-format.md).
    partitions: async () => (await sh.admin.highWatermarks(ingestTopic)).size,
    ...(auth ? { auth } : {}),
    ...(config.aggregation.producer_labels ? { producerLabels: config.aggregation.producer_labels } : {}),
    // The consumer's decode options: the ingest answers 2xx only for what decodeRecord will take, and, with the
    // aggregation rules, only values the aggregate takes where a rule reads a gauge as a running total.
    decode: {
      limits: decodeLimits(config),
      ...(config.aggregation.rules.length > 0 ? { totalRules: totalRulesOf(config) } : {}),
    },
    onExemplarsDropped: (count, version) => sh.exemplars.dropped(version === 2 ? 'remote_write_v2' : 'remote_write_v1', count),
    // `prom-relay ingest` is the ingest alone: its process keeps a small V8 heap (ingest README, Memory).
    smallHeap: sh.role === 'ingest',
    // Every answered request counted, refusals logged rate-limited.
    log: ingestRequestLog(metrics, produced, logger),
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
  const refusals = new AppliedRefusals(logger.child({ stage: 'aggregate' }), (count) => sh.exemplars.dropped('no_sample', count));
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
  const deadLetters = new DeadLetterQueue({
    producer,
    topic: k.dlq_topic,
    maxMessageBytes: dlqMaxMessageBytes(config),
    topicLimit: () => admin.maxMessageBytes(k.dlq_topic),
    logger: logger.child({ stage: 'dlq' }),
    events: deadLetterEvents(metrics, recorder),
  });
  const aggOpts = aggregateOptions(config);
  const decodeOptions: DecodeOptions = {
    limits: decodeLimits(config),
    // A message is decoded once, at its home: one landed elsewhere is forwarded undecoded.
    onExemplarsDropped: (count, format) =>
      sh.exemplars.dropped(format === 'metric-family' ? 'kafka_metric_family' : format === 'remote-write-v2' ? 'kafka_remote_write_v2' : 'kafka_remote_write_v1', count),
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
          repartitionMetrics.combined(result as CombineResult);
          refusals.combined(p.key, result as CombineResult);
          return;
        }
        metrics.applied(result);
        refusals.applied(p.key, result);
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
      if (r.exemplarsFailed) sh.exemplars.dropped('remote_write_receiver', r.exemplarsFailed);
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
  const connection = connectKafka(kafkaConnectionOptions(config, logger));
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
    const exemplars = new ExemplarDrops(metrics, logger.child({ stage: 'exemplars' }));
    const sh: Shared = { config, logger, role, owner, connection, admin, producer, metrics, recorder, exemplars, closers };

    // `aggregate` and `run`: the old generation kept near the aggregator's live state, the young one at 8 MiB semi-spaces
    // (apps/relay/README.md, Memory);
    // `prom-relay ingest` keeps its own small heap (createIngest's smallHeap).
    const heap = role !== 'ingest' ? keepAggregatorHeapSmall(config.aggregation.heap_growing_percent, config.aggregation.semi_space_mib) : undefined;
    if (heap) closers.push(async () => heap.stop());
    // ... and their old generation compacted once their state lets much of it go (heap/compaction.ts).
    if (role !== 'ingest' && config.aggregation.heap_compaction) {
      const heapLog = logger.child({ stage: 'heap' });
      const compaction = compactWhenFragmented({
        wasteShare: wasteShareFor(config.aggregation.heap_growing_percent),
        onCompact: ({ before, after, pauseMs }) => {
          metrics.heapCompactions.inc();
          const mb = (b: number) => Math.round(b / 2 ** 20);
          heapLog.info(
            { committedMiB: [mb(before.committed), mb(after.committed)], liveMiB: [mb(before.live), mb(after.live)], pauseMs: Math.round(pauseMs) },
            'old generation compacted: a major GC had left it mostly holes',
          );
        },
      });
      closers.push(async () => compaction.stop());
    }
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
