// The Kafka interface implemented with kafkajs: the only file that imports it.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { fixKafkajsIdleLoop } from '@prom-relay/emitter';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, KafkaConfig, LogEntry, Producer, SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
import { kafkaErrorType, rootMessage } from './errors.js';
import { installProduceEncoder } from './produce-encoder.js';
import { retryWhileStarting } from './retry.js';
import type {
  ConsumerHandlers,
  ConsumerOptions,
  KafkaConnection,
  ProducedMessage,
  RelayAdmin,
  RelayConsumer,
  RelayProducer,
  TopicPartition,
  TopicSpec,
} from './types.js';

// kafkajs is CommonJS: Node's ESM loader only sees its default export.
const { ConfigResourceTypes, ConfigSource, Kafka, Partitioners, logLevel: KafkaLogLevel } = kafkajs;

export interface KafkaConnectionOptions {
  brokers: string[];
  clientId: string;
  ssl?: { enabled: boolean; caFile?: string; certFile?: string; keyFile?: string; rejectUnauthorized: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  connectionTimeout?: number;
  requestTimeout?: number;
  logger?: Logger;
  /** replication factor of every topic ensureTopic creates without its own; default: the broker's */
  topicReplicationFactor?: number;
}

function tlsOptions(ssl: NonNullable<KafkaConnectionOptions['ssl']>): ConnectionOptions {
  const opts: ConnectionOptions = { rejectUnauthorized: ssl.rejectUnauthorized };
  if (ssl.caFile) opts.ca = [readFileSync(ssl.caFile, 'utf8')];
  if (ssl.certFile) opts.cert = readFileSync(ssl.certFile, 'utf8');
  if (ssl.keyFile) opts.key = readFileSync(ssl.keyFile, 'utf8');
  return opts;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

/** kafkajs messages that are routine while a cluster starts or a group rebalances: retried by kafkajs or by us. */
const ROUTINE_MESSAGES = [
  /^Limiting retries for the idempotent producer/,
  /^The group is rebalancing, re-joining/,
  /^Response (Metadata|GroupCoordinator|FindCoordinator|InitProducerId|JoinGroup|SyncGroup|Heartbeat|OffsetFetch|OffsetCommit|ListOffsets|Fetch|Produce)\b/,
];

/** ensureTopic retries and reports its own failures: kafkajs's line about them (often "exists" after a retry) adds nothing. */
const OWN_REPORTED = /^Response CreateTopics\b/;

/** Errors that mean "not yet": a starting cluster, a moving leader or coordinator, a rebalance. */
const ROUTINE_ERRORS = [
  /coordinator is loading/i,
  /coordinator is not available/i,
  /not the correct coordinator/i,
  /does not host this topic-partition/i,
  /no leader for this topic-partition|leader election/i,
  /There is no leader/i,
  /group is rebalancing/i,
  /not the leader for that topic-partition/i,
  /not the controller/i,
  /not enough replicas/i,
];

/** kafkajs's level for a line, or a lower one when the line is routine (a retried "not yet" answer). */
export function relayLevel(level: number, message: string, fields: Record<string, unknown>): 'error' | 'warn' | 'info' | 'debug' {
  const mapped = LEVELS[level] ?? 'info';
  if (mapped !== 'error' && mapped !== 'warn') return mapped;
  // A consumer crash on a "not yet" answer is restarted by kafkajs at once: routine on a starting cluster.
  if (message.startsWith('Crash: ') && ROUTINE_ERRORS.some((re) => re.test(message))) return 'info';
  if (message.startsWith('Restarting the consumer in ')) return 'info';
  if (OWN_REPORTED.test(message)) return 'debug';
  if (ROUTINE_MESSAGES.some((re) => re.test(message))) {
    // A response error is routine only when it is a "not yet" kind (coordinator loading, no leader, rebalancing).
    const error = fields.error;
    if (typeof error !== 'string' || ROUTINE_ERRORS.some((re) => re.test(error))) return 'debug';
  }
  return mapped;
}

/** kafkajs logs through the relay's pino logger, one JSON line each; routine start-up lines at debug. */
function logCreator(logger: Logger | undefined) {
  return () =>
    ({ level, log }: LogEntry) => {
      if (!logger) return;
      const { message, timestamp: _ts, logger: _l, stack: _stack, ...rest } = log as LogEntry['log'] & { stack?: unknown };
      logger[relayLevel(level, message, rest)]({ component: 'kafkajs', ...rest }, message);
    };
}

export function kafkaConfig(opts: KafkaConnectionOptions): KafkaConfig {
  const config: KafkaConfig = {
    brokers: opts.brokers,
    clientId: opts.clientId,
    connectionTimeout: opts.connectionTimeout ?? 3000,
    requestTimeout: opts.requestTimeout ?? 30_000,
    logLevel: KafkaLogLevel.WARN,
    logCreator: logCreator(opts.logger),
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
  };
  if (opts.ssl?.enabled) config.ssl = tlsOptions(opts.ssl);
  if (opts.sasl) {
    config.sasl = { mechanism: opts.sasl.mechanism, username: opts.sasl.username, password: opts.sasl.password } as SASLOptions;
  }
  return config;
}

class KafkajsConsumer implements RelayConsumer {
  private readonly consumer: Consumer;
  private stopped = false;

  constructor(
    kafka: InstanceType<typeof Kafka>,
    private readonly opts: ConsumerOptions,
    private readonly brokers: string,
    private readonly logger: Logger | undefined,
  ) {
    this.consumer = kafka.consumer({
      groupId: opts.groupId,
      // The relay creates the topics it needs (kafka.create_topics) or waits for them: never the broker's defaults.
      allowAutoTopicCreation: false,
      sessionTimeout: opts.sessionTimeout ?? 30_000,
      heartbeatInterval: opts.heartbeatInterval ?? 3000,
      rebalanceTimeout: opts.rebalanceTimeout ?? 60_000,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 10 * 1024 * 1024,
      maxBytes: opts.maxBytes ?? 50 * 1024 * 1024,
      maxWaitTimeInMs: 200,
      retry: { retries: 10 },
    });
  }

  async start(handlers: ConsumerHandlers): Promise<void> {
    const { events } = this.consumer;
    this.consumer.on(events.GROUP_JOIN, (e) => {
      const assignment: TopicPartition[] = [];
      for (const [topic, partitions] of Object.entries(e.payload.memberAssignment)) {
        for (const partition of partitions) assignment.push({ topic, partition });
      }
      handlers.onAssigned?.(assignment);
    });
    this.consumer.on(events.REBALANCING, () => handlers.onRebalancing?.());
    this.consumer.on(events.CRASH, (e) => handlers.onCrash?.(e.payload.error, e.payload.restart));
    try {
      await retryWhileStarting(
        `join group ${this.opts.groupId}`,
        async () => {
          await this.consumer.connect();
          await this.consumer.subscribe({ topics: this.opts.topics, fromBeginning: this.opts.fromBeginning });
        },
        this.logger ? { logger: this.logger } : {},
      );
    } catch (err) {
      throw new KafkaError(
        'PROM_RELAY_KAFKA_CONSUME',
        `cannot join group ${this.opts.groupId} on topics ${this.opts.topics.join(',')} (brokers ${this.brokers}): ${rootMessage(err)}`,
        { cause: err },
      );
    }
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const records = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key ?? null,
          value: m.value ?? null,
          headers: m.headers ?? {},
          timestamp: m.timestamp,
        }));
        const consumedThrough = await handlers.onBatch(
          { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, records },
          { heartbeat, isRunning: () => isRunning() && !isStale() && !this.stopped },
        );
        // The relay's own position lives in its aggregates and checkpoints; this only moves the fetch.
        if (consumedThrough !== undefined && isRunning() && !isStale()) resolveOffset(consumedThrough);
      },
    });
  }

  seek(tp: TopicPartition, offset: string): void {
    this.consumer.seek({ topic: tp.topic, partition: tp.partition, offset });
  }

  pause(tps: TopicPartition[]): void {
    this.consumer.pause(groupByTopic(tps));
  }

  resume(tps: TopicPartition[]): void {
    this.consumer.resume(groupByTopic(tps));
  }

  async commit(offsets: (TopicPartition & { offset: string })[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.consumer.disconnect();
  }
}

function groupByTopic(tps: TopicPartition[]): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, number[]>();
  for (const { topic, partition } of tps) {
    const list = byTopic.get(topic) ?? [];
    list.push(partition);
    byTopic.set(topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

class KafkajsProducer implements RelayProducer {
  constructor(
    private readonly producer: Producer,
    private readonly brokers: string,
  ) {}

  async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    try {
      await this.producer.send({ topic, acks: -1, messages });
    } catch (err) {
      throw new KafkaError('PROM_RELAY_KAFKA_PRODUCE', `produce to ${topic} failed (brokers ${this.brokers}): ${rootMessage(err)}`, { cause: err });
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** Exported for tests, which wrap a kafkajs admin to delay what the broker reads back; the relay gets one from connectKafka. */
export class KafkajsAdmin implements RelayAdmin {
  constructor(
    private readonly admin: Admin,
    private readonly brokers: string,
    private readonly logger: Logger | undefined,
    private readonly replicationFactor = -1,
  ) {}

  async ensureTopic(name: string, spec: TopicSpec): Promise<void> {
    try {
      await retryWhileStarting(`create topic ${name}`, () => this.ensureTopicOnce(name, spec), this.logger ? { logger: this.logger } : {});
    } catch (err) {
      throw new KafkaError('PROM_RELAY_KAFKA_TOPIC', `cannot create topic ${name} (brokers ${this.brokers}): ${rootMessage(err)}`, { cause: err });
    }
  }

  private async ensureTopicOnce(name: string, spec: TopicSpec): Promise<void> {
    const configEntries: { name: string; value: string }[] = [];
    if (spec.compacted) configEntries.push({ name: 'cleanup.policy', value: 'compact' });
    if (spec.retentionMs) configEntries.push({ name: 'retention.ms', value: String(spec.retentionMs) });
    if (spec.maxMessageBytes) configEntries.push({ name: 'max.message.bytes', value: String(spec.maxMessageBytes) });
    const existing = await this.admin.listTopics();
    if (!existing.includes(name)) {
      try {
        await this.admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic: name, numPartitions: spec.partitions ?? 1, replicationFactor: spec.replicationFactor ?? this.replicationFactor, configEntries }],
        });
      } catch (err) {
        // Two relays starting together race to create the topic (or a retry follows a lost answer): "exists" is success.
        if (kafkaErrorType(err) !== 'TOPIC_ALREADY_EXISTS') throw err;
      }
      await this.awaitLeaders(name);
      return;
    }
    if (spec.maxMessageBytes) await this.raiseMaxMessageBytes(name, spec.maxMessageBytes);
  }

  /** kafkajs waits for leaders only on LEADER_NOT_AVAILABLE; a fresh broker also answers UNKNOWN_TOPIC_OR_PARTITION for a while. */
  private async awaitLeaders(name: string): Promise<void> {
    const { topics } = await this.admin.fetchTopicMetadata({ topics: [name] });
    const partitions = topics[0]?.partitions ?? [];
    if (partitions.length === 0 || partitions.some((p) => p.leader < 0)) {
      throw Object.assign(new Error(`topic ${name} has no leader for every partition yet`), { type: 'LEADER_NOT_AVAILABLE', retriable: true });
    }
  }

  async missingTopics(names: string[]): Promise<string[]> {
    const existing = new Set(await this.admin.listTopics());
    return names.filter((n) => !existing.has(n));
  }

  async maxMessageBytes(name: string): Promise<number | undefined> {
    try {
      const entries = await this.topicConfig(name);
      const value = Number(entries.find((e) => e.configName === 'max.message.bytes')?.configValue);
      return Number.isFinite(value) && value > 0 ? value : undefined;
    } catch {
      return undefined;
    }
  }

  private async topicConfig(name: string) {
    const described = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name }],
    });
    return described.resources[0]?.configEntries ?? [];
  }

  private async raiseMaxMessageBytes(name: string, want: number): Promise<void> {
    const entries = await this.topicConfig(name);
    const current = Number(entries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    if (Number.isFinite(current) && current >= want) return;
    // AlterConfigs replaces a topic's whole config: every value set on the topic (cleanup.policy=compact, …) goes along.
    const kept = entries
      .filter((e) => !e.isDefault && !e.readOnly && e.configName !== 'max.message.bytes' && e.configValue !== null && e.configSource === ConfigSource.TOPIC_CONFIG)
      .map((e) => ({ name: e.configName, value: e.configValue }));
    await this.admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: [...kept, { name: 'max.message.bytes', value: String(want) }] }],
    });
    // With KRaft the answer comes once the controller has the change; the broker applies it from its metadata log a
    // moment later. A checkpoint produced within that moment would still meet the old limit: wait until it reads back.
    await this.awaitMaxMessageBytes(name, want);
    this.logger?.info({ topic: name, from: current, to: want }, 'raised max.message.bytes of topic');
  }

  private async awaitMaxMessageBytes(name: string, want: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let wait = 20; ; wait = Math.min(wait * 2, 1_000)) {
      const value = Number((await this.topicConfig(name)).find((e) => e.configName === 'max.message.bytes')?.configValue);
      if (value >= want) return;
      if (Date.now() >= deadline) {
        throw new Error(`max.message.bytes of topic ${name} still reads ${value} ${timeoutMs} ms after it was raised to ${want}`);
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  async highWatermarks(topic: string): Promise<Map<number, string>> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, o.high]));
  }

  async watermarks(topic: string): Promise<Map<number, { low: string; high: string }>> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, { low: o.low, high: o.high }]));
  }

  async committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
    const res = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    const out = new Map<number, string>();
    for (const p of res[0]?.partitions ?? []) if (p.offset !== '-1') out.set(p.partition, p.offset);
    return out;
  }

  async disconnect(): Promise<void> {
    await this.admin.disconnect();
  }
}

/** One kafkajs client shared by the relay's consumer, producer and admin. */
export function connectKafka(opts: KafkaConnectionOptions): KafkaConnection {
  // kafkajs 2.2.4 re-arms a 1 ms timer per idle connection forever (see the emitter's kafkajs-idle-loop.ts).
  fixKafkajsIdleLoop({ allQueues: true });
  // kafkajs builds a produce request from an allocation per field; this writes the same bytes at once (produce-encoder.ts).
  installProduceEncoder();
  const kafka = new Kafka(kafkaConfig(opts));
  const brokers = opts.brokers.join(',');
  const retry = opts.logger ? { logger: opts.logger } : {};
  // Connecting fails at once when no broker answers (an operator's matter); a cluster still starting is waited for.
  const connect = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await retryWhileStarting(what, fn, retry);
    } catch (err) {
      throw new KafkaError('PROM_RELAY_KAFKA_CONSUME', `cannot ${what} (brokers ${brokers}): ${rootMessage(err)}`, { cause: err });
    }
  };
  return {
    consumer: (copts) => new KafkajsConsumer(kafka, copts, brokers, opts.logger),
    producer: async () => {
      // Idempotent: a retried send after a lost ack writes the record once.
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await connect('connect the producer', () => producer.connect());
      return new KafkajsProducer(producer, brokers);
    },
    admin: async () => {
      const admin = kafka.admin();
      await connect('connect the admin client', () => admin.connect());
      return new KafkajsAdmin(admin, brokers, opts.logger, opts.topicReplicationFactor);
    },
  };
}
