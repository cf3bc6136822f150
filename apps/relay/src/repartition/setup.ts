// The repartition stage's start-up: its topic (created like the relay's other topics), its partition count (the hash
// depends on it) and the producer homes of the input topics.
import type { Logger } from 'pino';
import type { RelayConfig } from '../config/index.js';
import { retryWhileStarting, type RelayAdmin, type RelayProducer } from '../kafka/index.js';
import { KAFKA_DEFAULT_MAX_MESSAGE_BYTES } from '../kafka/message-bytes.js';
import { DEFAULT_PRODUCER_LABELS } from '../aggregate/index.js';
import { RateLimitedLog } from '../log/index.js';
import type { CombineOptions } from './combiner.js';
import { ProducerHomes } from './homes.js';
import { PartialsPublisher } from './publisher.js';

/** Room for one partials message: the publisher cuts its messages at 512 KiB of JSON before gzip. */
const PARTIALS_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

export interface Repartition {
  /** the partials topic: consumed in the relay's group beside the input topics */
  topic: string;
  publisher: PartialsPublisher;
  homes: ProducerHomes;
  combine: CombineOptions;
}

export async function startRepartition(config: RelayConfig, admin: RelayAdmin, producer: RelayProducer, logger: Logger): Promise<Repartition> {
  const k = config.kafka;
  const rp = config.repartition;
  const topic = rp.topic ?? `${k.group_id}.partials`;
  const partitionsOf = (t: string) => retryWhileStarting(`partitions of ${t}`, async () => (await admin.highWatermarks(t)).size, { logger });
  if (k.create_topics) {
    const partitions = rp.partitions > 0 ? rp.partitions : Math.max(1, await partitionsOf(k.topics[0]!).catch(() => 0));
    const replication = k.topic_replication_factor ? { replicationFactor: k.topic_replication_factor } : {};
    await retryWhileStarting(`create ${topic}`, () =>
      admin.ensureTopic(topic, { partitions, retentionMs: rp.retention, maxMessageBytes: PARTIALS_MAX_MESSAGE_BYTES, ...replication }),
    { logger });
  }
  const partitions = await partitionsOf(topic);
  const homes = new ProducerHomes(admin, producer, k.topics, config.aggregation.producer_labels ?? DEFAULT_PRODUCER_LABELS, logger);
  await homes.start();
  logger.info({ topic, partitions }, 'repartition stage ready: one owner per output series');
  return {
    topic,
    publisher: new PartialsPublisher(producer, topic, partitions, (await admin.maxMessageBytes(topic)) ?? KAFKA_DEFAULT_MAX_MESSAGE_BYTES),
    homes,
    // An owner forgets a source's partial only long after the source itself would have ended the series: totals are
    // kept (and republished) for counter_ttl, gauges for series_ttl.
    combine: { ttlMs: combinerTtl(config), onBackwardJump: backwardJumps(logger, combinerTtl(config)) },
  };
}

/** The owners' TTL: `repartition.partial_ttl`, at least the longest lifetime of a source's series plus 3 flushes. */
export function combinerTtl(config: RelayConfig): number {
  const agg = config.aggregation;
  return Math.max(config.repartition.partial_ttl, Math.max(agg.series_ttl, agg.counter_ttl) + 3 * config.flush.interval);
}

/** A source's offsets far below its last publish (see CombineOptions.onBackwardJump): a line per source a minute. */
export function backwardJumps(logger: Logger, ttlMs: number): NonNullable<CombineOptions['onBackwardJump']> {
  const log = new RateLimitedLog(logger, { limit: 1, intervalMs: 60_000 });
  return (source, offset, last) =>
    log.log('warn', `backward_jump/${source}`, { source, offset, last, forgetAfterMs: ttlMs, code: 'PROM_RELAY_PARTIALS_OFFSETS_WENT_BACK' },
      "a source partition's partials went far below its last publish offset (its topic recreated, its checkpoints reset?): series this owner does not hold from it are taken for replays (counted outdated) until it publishes at or above that offset again or has been silent for the owners' TTL");
}
