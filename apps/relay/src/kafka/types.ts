// The one small interface the relay has on Kafka; kafkajs stays behind it (see kafkajs.ts).

export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;

/** One consumed record, as decode and the DLQ see it. */
export interface KafkaRecord {
  topic: string;
  partition: number;
  /** decimal string, as Kafka offsets exceed 2^53 in principle */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, HeaderValue>;
  /** broker or producer timestamp, ms since epoch, decimal string */
  timestamp: string;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface RecordBatch extends TopicPartition {
  /** offset of the next record the broker will write */
  highWatermark: string;
  records: KafkaRecord[];
}

export interface BatchContext {
  heartbeat(): Promise<void>;
  /** false once stop() began or a rebalance made this batch stale: stop processing */
  isRunning(): boolean;
}

export interface ConsumerHandlers {
  /** Records of one partition in offset order, one batch at a time; answers the last offset it consumed
   *  (the next fetch starts after it), or undefined when it moved the position itself with seek(). */
  onBatch(batch: RecordBatch, ctx: BatchContext): Promise<string | undefined>;
  /** The group's new assignment for this member (cannot block the rebalance). */
  onAssigned?(assignment: TopicPartition[]): void;
  /** A rebalance began: partitions may be moving away right now. */
  onRebalancing?(): void;
  /** The consumer crashed; `restart` tells whether kafkajs restarts it. */
  onCrash?(error: Error, restart: boolean): void;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning: boolean;
  sessionTimeout?: number;
  heartbeatInterval?: number;
  rebalanceTimeout?: number;
  maxBytesPerPartition?: number;
  maxBytes?: number;
}

export interface RelayConsumer {
  /** connects, subscribes and starts fetching; resolves once running */
  start(handlers: ConsumerHandlers): Promise<void>;
  /** the next fetch of this partition starts at `offset` */
  seek(tp: TopicPartition, offset: string): void;
  pause(tps: TopicPartition[]): void;
  resume(tps: TopicPartition[]): void;
  /** commits group offsets (the next offset to consume) for lag monitoring */
  commit(offsets: (TopicPartition & { offset: string })[]): Promise<void>;
  /** stops fetching, leaves the group and disconnects */
  stop(): Promise<void>;
}

export interface ProducedMessage {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  partition?: number;
  /** ms since epoch, decimal string (default: now) */
  timestamp?: string;
}

export interface RelayProducer {
  /** resolves once every in-sync replica acknowledged (acks -1) */
  send(topic: string, messages: ProducedMessage[]): Promise<void>;
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  partitions?: number;
  /** default: the broker's default.replication.factor */
  replicationFactor?: number;
  compacted?: boolean;
  /** topic-level max.message.bytes */
  maxMessageBytes?: number;
  /** topic-level retention.ms (set at creation only) */
  retentionMs?: number;
}

export interface RelayAdmin {
  /** creates the topic when missing (retrying while a fresh cluster is not ready); raises max.message.bytes when it is lower */
  ensureTopic(name: string, spec: TopicSpec): Promise<void>;
  /** the names among `names` that are not topics of the cluster */
  missingTopics(names: string[]): Promise<string[]>;
  /** the topic's effective max.message.bytes (its own or the broker's default); undefined when it cannot be read */
  maxMessageBytes(name: string): Promise<number | undefined>;
  /** high watermark (next offset) per partition */
  highWatermarks(topic: string): Promise<Map<number, string>>;
  /** log start (low) and high watermark per partition */
  watermarks?(topic: string): Promise<Map<number, { low: string; high: string }>>;
  /** committed group offsets per partition (absent when none) */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, string>>;
  disconnect(): Promise<void>;
}

export interface KafkaConnection {
  consumer(opts: ConsumerOptions): RelayConsumer;
  producer(): Promise<RelayProducer>;
  admin(): Promise<RelayAdmin>;
}
