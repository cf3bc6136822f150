import kafkajs, { type Admin } from 'kafkajs';
import { InfraError } from '../errors.js';
import { sleep } from '../process/server-process.js';

const { Kafka, logLevel } = kafkajs;

export interface TopicOptions {
  /** Partition count; default 1. */
  partitions?: number;
  /** Sets cleanup.policy=compact (e.g. the relay's checkpoint topic). */
  compacted?: boolean;
  /** Any other topic config, e.g. { 'segment.ms': 100, 'min.cleanable.dirty.ratio': 0.01 }. */
  config?: Record<string, string | number | boolean>;
  /** Deadline for creation and partition leaders; default 30 s. */
  timeoutMs?: number;
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Creates `name` on the cluster at `brokers` and returns once every partition has a leader.
 * Throws PROM_RELAY_INFRA_TOPIC when it already exists or creation fails.
 */
export async function createKafkaTopic(brokers: string[], name: string, options: TopicOptions = {}): Promise<void> {
  const partitions = options.partitions ?? 1;
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new InfraError('PROM_RELAY_INFRA_TOPIC', `topic name ${JSON.stringify(name)} is not valid: 1-249 characters of [a-zA-Z0-9._-]`);
  }
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new InfraError('PROM_RELAY_INFRA_TOPIC', `topic ${name}: partitions must be an integer >= 1, got ${String(partitions)}`);
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const configEntries = Object.entries(options.config ?? {}).map(([key, value]) => ({ name: key, value: String(value) }));
  if (options.compacted) configEntries.push({ name: 'cleanup.policy', value: 'compact' });

  const kafka = new Kafka({ clientId: 'prom-relay-infra', brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3_000 });
  const admin = kafka.admin();
  try {
    await admin.connect();
    let created: boolean;
    try {
      created = await admin.createTopics({
        topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1, configEntries }],
        // Our waitForLeaders below retries every metadata error: kafkajs' own wait gives up on
        // UNKNOWN_TOPIC_OR_PARTITION, which a busy broker answers for a moment after creating the topic.
        waitForLeaders: false,
        timeout: timeoutMs,
      });
    } catch (err) {
      throw new InfraError('PROM_RELAY_INFRA_TOPIC', `could not create topic ${name} on ${brokers.join(',')}: ${describe(err)}`, { cause: err });
    }
    if (!created) {
      throw new InfraError('PROM_RELAY_INFRA_TOPIC', `topic ${name} already exists on ${brokers.join(',')}; use a unique name per test (see testTopicName())`);
    }
    await waitForLeaders(admin, name, partitions, timeoutMs);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function waitForLeaders(admin: Admin, name: string, partitions: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no metadata yet';
  while (Date.now() < deadline) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [name] });
      const led = metadata.topics[0]?.partitions.filter((p) => p.leader >= 0).length ?? 0;
      if (led === partitions) return;
      last = `${led}/${partitions} partitions have a leader`;
    } catch (err) {
      last = describe(err);
    }
    await sleep(100);
  }
  throw new InfraError('PROM_RELAY_INFRA_TOPIC', `topic ${name}: partitions did not get leaders within ${timeoutMs} ms (${last})`);
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
