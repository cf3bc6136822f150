// The Kafka interface implemented with kafkajs: the only file that imports it.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, KafkaConfig, LogEntry, Producer, SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
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
const { ConfigResourceTypes, Kafka, Partitioners, logLevel: KafkaLogLevel } = kafkajs;

export interface KafkaConnectionOptions {
  brokers: string[];
  clientId: string;
  ssl?: { enabled: boolean; caFile?: string; certFile?: string; keyFile?: string; rejectUnauthorized: boolean };
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  connectionTimeout?: number;
  requestTimeout?: number;
  logger?: Logger;
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

/** kafkajs logs through the relay's pino logger, one JSON line each. */
function logCreator(logger: Logger | undefined) {
  return () =>
    ({ level, log }: LogEntry) => {
      if (!logger) return;
      const { message, timestamp: _ts, logger: _l, ...rest } = log;
      logger[LEVELS[level] ?? 'info']({ component: 'kafkajs', ...rest }, message);
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
  ) {
    this.consumer = kafka.consumer({
      groupId: opts.groupId,
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
      await this.consumer.connect();
      await this.consumer.subscribe({ topics: this.opts.topics, fromBeginning: this.opts.fromBeginning });
    } catch (err) {
      throw new KafkaError('PROM_RELAY_KAFKA_CONSUME', `cannot join group ${this.opts.groupId}: ${(err as Error).message}`, { cause: err });
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
  constructor(private readonly producer: Producer) {}

  async send(topic: string, messages: ProducedMessage[]): Promise<void> {
    try {
      await this.producer.send({ topic, acks: -1, messages });
    } catch (err) {
      throw new KafkaError('PROM_RELAY_KAFKA_PRODUCE', `produce to ${topic} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

class KafkajsAdmin implements RelayAdmin {
  constructor(private readonly admin: Admin) {}

  async ensureTopic(name: string, spec: TopicSpec): Promise<void> {
    const configEntries: { name: string; value: string }[] = [];
    if (spec.compacted) configEntries.push({ name: 'cleanup.policy', value: 'compact' });
    if (spec.retentionMs) configEntries.push({ name: 'retention.ms', value: String(spec.retentionMs) });
    if (spec.maxMessageBytes) configEntries.push({ name: 'max.message.bytes', value: String(spec.maxMessageBytes) });
    try {
      const existing = await this.admin.listTopics();
      if (!existing.includes(name)) {
        await this.admin.createTopics({
          waitForLeaders: true,
          topics: [{ topic: name, numPartitions: spec.partitions ?? 1, configEntries }],
        });
        return;
      }
      if (spec.maxMessageBytes) await this.raiseMaxMessageBytes(name, spec.maxMessageBytes);
    } catch (err) {
      // Two relays starting together race to create the topic: the loser's "exists" is success.
      if ((err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return;
      throw new KafkaError('PROM_RELAY_KAFKA_TOPIC', `cannot create topic ${name}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async raiseMaxMessageBytes(name: string, want: number): Promise<void> {
    const described = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] }],
    });
    const current = Number(described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    if (Number.isFinite(current) && current >= want) return;
    await this.admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name, configEntries: [{ name: 'max.message.bytes', value: String(want) }] }],
    });
  }

  async highWatermarks(topic: string): Promise<Map<number, string>> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, o.high]));
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
  const kafka = new Kafka(kafkaConfig(opts));
  return {
    consumer: (copts) => new KafkajsConsumer(kafka, copts),
    producer: async () => {
      // Idempotent: a retried send after a lost ack writes the record once.
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      return new KafkajsProducer(producer);
    },
    admin: async () => {
      const admin = kafka.admin();
      await admin.connect();
      return new KafkajsAdmin(admin);
    },
  };
}
