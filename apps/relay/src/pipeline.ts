// The one place where the relay's stages are wired:
//   source (Kafka group) -> decode -> aggregate (per partition) -> flush (Remote Write) -> checkpoint (compacted topic)
//   bad records -> DLQ; HTTP ingest -> Kafka (same topic); /metrics /healthz /readyz.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { RemoteWriteClient } from '@prom-relay/push-client';
import type { Logger } from 'pino';
import { PartitionAggregate, type AggregateOptions } from './aggregate/index.js';
import { CheckpointStore } from './checkpoint/index.js';
import { dlqMaxMessageBytes, RECORD_OVERHEAD_BYTES, type RelayConfig } from './config/index.js';
import { decodeRecord } from './decode/index.js';
import { DeadLetterQueue } from './dlq/index.js';
import { Flusher, type FlushResult } from './flush/index.js';
import { createIngest, type IngestAuth } from './ingest/index.js';
import { connectKafka, InputTopics, type RelayAdmin, type RelayProducer } from './kafka/index.js';
import { RepartitionMetrics, SeriesCombiner, decodePartials, startRepartition, type CombineResult } from './repartition/index.js';
import { KafkaSource } from './source/index.js';
import { RelayMetrics, serverConnectionOptions, startRelayServer, type RelayServer } from './server/index.js';

export interface Relay {
  /** base URL of the HTTP server (metrics, health, ingest) */
  readonly url: string;
  readonly owner: string;
  readonly source: KafkaSource;
  readonly metrics: RelayMetrics;
  /** settles when the relay cannot go on (the consumer stopped for good): its caller should stop it and exit non-zero */
  readonly failed: Promise<Error>;
  /** flushes now (tests, shutdown) */
  flush(): Promise<FlushResult>;
  /** stop consuming, final flush and checkpoint, leave the group; bounded by shutdown.timeout */
  stop(): Promise<void>;
}

export function aggregateOptions(config: RelayConfig): AggregateOptions {
  const agg = config.aggregation;
  return {
    seriesTtlMs: agg.series_ttl,
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
      outputs: r.outputs,
      keepInput: r.keep_input,
      ...(r.by ? { by: r.by } : {}),
      ...(r.without ? { without: r.without } : {}),
      ...(r.buckets ? { buckets: r.buckets } : {}),
    })),
  };
}

function remoteWriteClient(config: RelayConfig): RemoteWriteClient {
  const rw = config.remote_write;
  return new RemoteWriteClient({
    url: rw.url,
    protocol: rw.protocol === '2.0' ? 'v2' : 'v1',
    headers: rw.headers,
    timeoutMs: rw.timeout,
    maxSamplesPerRequest: rw.max_samples_per_request,
    concurrency: rw.concurrency,
    ...(rw.username !== undefined && rw.password !== undefined ? { basicAuth: { username: rw.username, password: rw.password } } : {}),
    ...(rw.bearer_token !== undefined ? { bearerToken: rw.bearer_token } : {}),
  });
}

function ingestAuth(config: RelayConfig): IngestAuth | undefined {
  const { username, password, credentials, bearer_tokens: bearer } = config.ingest;
  const basic = credentials.flatMap((c) => (c.password === undefined ? [] : [{ username: c.username, password: c.password }]));
  if (username !== undefined && password !== undefined) basic.unshift({ username, password });
  return basic.length > 0 || bearer.length > 0 ? { basic, bearer } : undefined;
}

/** Starts every stage; resolves once the relay consumes and serves HTTP. */
export async function startRelay(config: RelayConfig, logger: Logger): Promise<Relay> {
  const owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  const k = config.kafka;
  const connection = connectKafka({
    brokers: k.brokers,
    clientId: k.client_id,
    connectionTimeout: k.connection_timeout,
    requestTimeout: k.request_timeout,
    logger: logger.child({ stage: 'kafka' }),
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
    closers.push(async () => rp.homes.stop());

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
    });
    await checkpoints.start();
    closers.push(() => checkpoints.stop());

    const consumer = connection.consumer({
      groupId: k.group_id,
      topics: [...k.topics, rp.topic],
      fromBeginning: k.from_beginning,
      sessionTimeout: k.session_timeout,
      heartbeatInterval: k.heartbeat_interval,
      rebalanceTimeout: k.rebalance_timeout,
      maxBytesPerPartition: k.max_bytes_per_partition,
    });

    let fail: (err: Error) => void = () => {};
    const failed = new Promise<Error>((resolve) => (fail = resolve));
    // Metrics read the source's partitions lazily; the source is created just below.
    let source: KafkaSource | undefined;
    const metrics = new RelayMetrics(() => source?.owned() ?? []);
    const repartitionMetrics = new RepartitionMetrics(metrics.registry, () => source?.owned() ?? []);
    const deadLetters = new DeadLetterQueue({
      producer,
      topic: k.dlq_topic,
      maxMessageBytes: dlqMaxMessageBytes(config),
      topicLimit: () => admin.maxMessageBytes(k.dlq_topic),
      logger: logger.child({ stage: 'dlq' }),
      events: {
        sent: (reason, _record, truncated) => {
          metrics.deadLetters.inc({ reason: reason.code });
          if (truncated.length > 0) metrics.deadLettersTruncated.inc({ reason: reason.code });
        },
        failed: (reason, _record, error) => metrics.deadLettersFailed.inc({ reason: reason.code, error }),
      },
    });
    metrics.stalledPartitions = () => deadLetters.stalled();
    const aggOpts = aggregateOptions(config);
    source = new KafkaSource({
      consumer,
      highWatermarks: (topic) => admin.highWatermarks(topic),
      onFatal: (err) => fail(err),
      checkpoints,
      deadLetters,
      owner,
      logger: logger.child({ stage: 'source' }),
      decode: (record) => record.topic === rp.topic ? decodePartials(record.value ?? Buffer.alloc(0)) : decodeRecord(record, { limits: { maxLabelsPerSeries: config.aggregation.max_labels_per_series, maxLabelValueLength: config.aggregation.max_label_value_length } }),
      states: {
        role: (tp) => (tp.topic === rp.topic ? 'owner' : 'source'),
        create: (tp) => (tp.topic === rp.topic ? new SeriesCombiner(rp.combine) : new PartitionAggregate(aggOpts)),
        restore: (state, tp) => (tp.topic === rp.topic ? SeriesCombiner.fromState(state, rp.combine) : PartitionAggregate.fromState(state, aggOpts)),
      },
      homes: rp.homes,
      events: {
        consumed: (tp, n, bytes) => metrics.consumed(tp, n, bytes),
        deadLetter: (code) => metrics.decodeErrors.inc({ reason: code }),
        forwarded: (tp) => repartitionMetrics.forwarded.inc({ topic: tp.topic }),
        applied: (p, result) => (p.role === 'owner' ? repartitionMetrics.combined(result as CombineResult) : metrics.applied(result)),
        restored: (_p, from) => metrics.restores.inc({ from }),
      },
    });
    const owned = source;

    const sendTimeoutMs = Math.max(1000, Math.min(config.remote_write.retry_max_elapsed, config.flush.interval * 3));
    const flusher = new Flusher({
      sink: remoteWriteClient(config),
      publisher: rp.publisher,
      checkpoints,
      consumer,
      partitions: () => owned.flushable(),
      logger: logger.child({ stage: 'flush' }),
      sendTimeoutMs,
      onFlush: (r) => {
        metrics.flushed(r);
        repartitionMetrics.published.inc(r.partialsPublished);
        logger.debug({ stage: 'flush', status: r.status, series: r.series, partitions: r.partitions, ms: Math.round(r.durationMs) }, 'flushed');
      },
    });

    const ingestTopic = config.ingest.topic ?? k.topics[0]!;
    const auth = ingestAuth(config);
    const ingest = config.ingest.enabled
      ? createIngest({
          send: (messages) => producer.send(ingestTopic, messages),
          maxBodyBytes: config.ingest.max_body_bytes,
          ...(auth ? { auth } : {}),
          ...(config.aggregation.producer_labels ? { producerLabels: config.aggregation.producer_labels } : {}),
          // The consumer's decode options: the ingest answers 2xx only for what decodeRecord will take.
          decode: { limits: { maxLabelsPerSeries: config.aggregation.max_labels_per_series, maxLabelValueLength: config.aggregation.max_label_value_length } },
          log: (entry) => {
            // Every answered request logs once: the counter is fed from the same place.
            const api = entry.path.startsWith('/metrics/job') ? 'pushgateway' : 'remote_write';
            metrics.ingestRequests.inc({ api, status: String(entry.status), code: entry.code ?? 'none' });
            logger[entry.level]({ stage: 'ingest', ...entry }, entry.msg);
          },
        })
      : undefined;

    const server: RelayServer = await startRelayServer({
      host: config.server.host,
      port: config.server.port,
      registry: metrics.registry,
      ...serverConnectionOptions(config.server, metrics),
      logger: logger.child({ stage: 'server' }),
      ...(ingest ? { ingest } : {}),
      readiness: () => {
        const last = flusher.lastResult;
        const flushOk = last === undefined || last.status === 'success' || last.status === 'empty';
        const assigned = owned.assignment.length > 0;
        const stalled = deadLetters.stalled().map((p) => `${p.topic}/${p.partition}`);
        return {
          ready: owned.ready && flushOk && stalled.length === 0 && inputTopics.missing().length === 0,
          checks: { assigned, restored: owned.ready, last_flush: last?.status ?? 'none', input_topics: inputTopics.check(), stalled: stalled.join(',') || 'none' },
        };
      },
    });
    closers.push(() => server.close());

    await inputTopics.ensure();
    await owned.start();
    closers.push(() => consumer.stop());
    flusher.start(config.flush.interval);
    logger.info({ owner, url: server.url, topics: k.topics, group: k.group_id }, 'relay started');

    let stopping: Promise<void> | undefined;
    const stop = async () => {
      flusher.stop();
      owned.stopConsuming();
      deadLetters.stop();
      // Half the shutdown budget for the final send: the checkpoint and leaving the group need the rest.
      const final = await flusher.flush({ sendTimeoutMs: Math.min(sendTimeoutMs, config.shutdown.timeout / 2) }).catch((err: unknown) => {
        logger.error({ err }, 'final flush failed');
        return undefined;
      });
      logger.info({ status: final?.status, series: final?.series }, 'final flush and checkpoint done');
      // Leaves the group only now, so no other relay took the partitions before the last checkpoint.
      await closeAll();
      logger.info('relay stopped');
    };
    return {
      url: server.url,
      owner,
      source: owned,
      metrics,
      failed,
      flush: () => flusher.flush(),
      stop: () => (stopping ??= stop()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
