// The dead-letter topic: a record the relay cannot decode goes there as it came (cut to fit), plus why and where from.
// The source moves past a poison record only once send() returns, so send() must always return:
//   - too large for the topic: cut down (see fit.ts), and cut further if the broker still refuses it;
//   - refused for good (authorisation, invalid record): a few attempts, then given up, counted and logged;
//   - broker away or topic not there: retried until it works, and the partition shows as stalled meanwhile
//     (stalled(): /readyz, prom_relay_partition_stalled_seconds, an error log line).
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
import { errorChain, isTooLarge, kafkaErrorType, rootMessage } from '../kafka/errors.js';
import type { KafkaRecord, RelayProducer } from '../kafka/index.js';
import { RateLimitedLog } from '../log/index.js';
import { deadLetterMessage, type DeadLetterReason } from './fit.js';

export interface DeadLetterEvents {
  /** the DLQ acknowledged the letter; `truncated` lists what was cut to fit */
  sent?(reason: DeadLetterReason, record: KafkaRecord, truncated: string[]): void;
  /** the letter was given up after bounded attempts: the partition moves on without it */
  failed?(reason: DeadLetterReason, record: KafkaRecord, error: string): void;
}

export interface DeadLetterQueueOptions {
  producer: RelayProducer;
  topic: string;
  /** the DLQ topic's max.message.bytes as configured */
  maxMessageBytes: number;
  /** reads the topic's actual max.message.bytes (lower when someone else created it); undefined when unknown */
  topicLimit?: () => Promise<number | undefined>;
  logger?: Logger;
  events?: DeadLetterEvents;
  /** attempts at a letter the broker refuses for good before giving it up; default 5 */
  maxAttempts?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** a send still unacknowledged after this long marks its partition stalled; default 5 s */
  stallAfterMs?: number;
  now?: () => number;
}

/** The consuming batch's context (BatchContext fits): retries end when it stops running, and keep the member alive. */
export interface SendContext {
  isRunning?: () => boolean;
  heartbeat?: () => Promise<void>;
}

/** A source partition that cannot move on because its dead letter is not written yet. */
export interface StalledPartition {
  topic: string;
  partition: number;
  /** offset of the dead record */
  offset: string;
  /** ms since epoch when its DLQ write began */
  since: number;
  attempts: number;
  lastError?: string;
}

interface InFlight extends StalledPartition {
  failing: boolean;
}

const STOPPED = Symbol('stopped');

/** Below this the broker is refusing something other than size: halving further would only lose the letter's body. */
const MIN_LIMIT = 4096;

export class DeadLetterQueue {
  readonly topic: string;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly log: RateLimitedLog | undefined;
  private readonly now: () => number;
  private limit: number | undefined;
  private stopped = false;
  private readonly wakers = new Set<() => void>();
  private markStopped: () => void = () => {};
  /** settles on stop(): a send in flight is not waited for (kafkajs may retry it for half a minute) */
  private readonly stoppedSignal = new Promise<void>((resolve) => (this.markStopped = resolve));

  constructor(private readonly opts: DeadLetterQueueOptions) {
    this.topic = opts.topic;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ? new RateLimitedLog(opts.logger, { limit: 5, intervalMs: 10_000 }) : undefined;
  }

  /**
   * Resolves once the DLQ topic acknowledged the letter (acks -1), or once it was given up (counted, logged).
   * Rejects only when the DLQ is stopped or `isRunning` turns false while it retries: the record is then not
   * past, and its next owner dead-letters it again.
   */
  async send(record: KafkaRecord, reason: DeadLetterReason, opts: SendContext = {}): Promise<void> {
    const key = `${record.topic}/${record.partition}`;
    const entry: InFlight = { topic: record.topic, partition: record.partition, offset: record.offset, since: this.now(), attempts: 0, failing: false };
    this.inFlight.set(key, entry);
    const stallAfter = this.opts.stallAfterMs ?? 5000;
    const slow = setTimeout(() => {
      this.opts.logger?.error({ topic: record.topic, partition: record.partition, offset: record.offset, dlq: this.topic, ms: stallAfter }, 'dead letter not acknowledged yet: partition stalled');
    }, stallAfter);
    slow.unref();
    // Still the partition's owner while it waits (kafkajs heartbeats only between batches): a stalled partition stays
    // visible on this relay rather than timing the member out of the group.
    const { heartbeat } = opts;
    const beating = heartbeat ? setInterval(() => void heartbeat().catch(() => undefined), 1000) : undefined;
    try {
      await this.sendUntilDone(record, reason, entry, opts);
    } finally {
      clearInterval(beating);
      clearTimeout(slow);
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    }
  }

  /** Partitions whose dead letter is failing or slower than stallAfterMs: they cannot advance. */
  stalled(): StalledPartition[] {
    const now = this.now();
    const stallAfter = this.opts.stallAfterMs ?? 5000;
    return [...this.inFlight.values()]
      .filter((e) => e.failing || now - e.since >= stallAfter)
      .map(({ failing: _f, ...rest }) => rest);
  }

  /** Shutdown: retries end, pending sends reject (their records stay unconsumed). */
  stop(): void {
    this.stopped = true;
    this.markStopped();
    for (const wake of this.wakers) wake();
  }

  private async sendUntilDone(record: KafkaRecord, reason: DeadLetterReason, entry: InFlight, ctx: SendContext): Promise<void> {
    const maxAttempts = this.opts.maxAttempts ?? 5;
    let limit = await this.currentLimit();
    let refusals = 0;
    const where = { topic: record.topic, partition: record.partition, offset: record.offset, reason: reason.code };
    for (let attempt = 1; ; attempt++) {
      const { message, truncated } = deadLetterMessage(record, reason, limit);
      try {
        if (this.stopped) throw abandoned(record, 'stopped');
        const outcome = await Promise.race([this.opts.producer.send(this.topic, [message]), this.stoppedSignal.then(() => STOPPED)]);
        if (outcome === STOPPED) throw abandoned(record, 'stopped while sending');
        this.opts.events?.sent?.(reason, record, truncated);
        const fields = { ...where, error: reason.message, bytes: record.value?.length ?? 0, ...(truncated.length ? { truncated: truncated.join(',') } : {}) };
        this.log?.warn(reason.code, fields, 'record dead-lettered');
        if (entry.failing) this.opts.logger?.info({ ...where, attempts: attempt }, 'dead letter written after retries: partition moves on');
        return;
      } catch (err) {
        if (err instanceof KafkaError && err.code === 'PROM_RELAY_KAFKA_PRODUCE' && this.stopped) throw err;
        const error = rootMessage(err);
        entry.attempts = attempt;
        entry.failing = true;
        entry.lastError = error;
        let permanent = false;
        if (isTooLarge(err)) {
          const actual = await this.currentLimit(true);
          limit = Math.max(MIN_LIMIT, Math.min(actual, Math.floor(limit / 2)));
          refusals++;
        } else if (isPermanent(err)) {
          refusals++;
          permanent = true;
        }
        if (refusals >= maxAttempts) {
          this.opts.events?.failed?.(reason, record, kafkaErrorType(err) ?? 'unknown');
          this.opts.logger?.error({ ...where, dlq: this.topic, attempts: attempt, error }, 'dead letter given up: the DLQ refused it; partition moves on without it');
          return;
        }
        this.log?.error(`${record.topic}/${record.partition}`, { ...where, dlq: this.topic, attempt, error, permanent }, 'dead letter not written: partition stalled, retrying');
        await this.backoff(attempt);
        if (this.stopped || (ctx.isRunning && !ctx.isRunning())) throw abandoned(record, error, err);
      }
    }
  }

  /** min(configured, the topic's actual max.message.bytes); read once, and again after a size refusal. */
  private async currentLimit(refresh = false): Promise<number> {
    if (this.limit !== undefined && !refresh) return this.limit;
    const actual = await this.opts.topicLimit?.().catch(() => undefined);
    this.limit = Math.min(this.opts.maxMessageBytes, actual ?? Infinity);
    return this.limit;
  }

  private backoff(attempt: number): Promise<void> {
    const min = this.opts.minBackoffMs ?? 200;
    const max = this.opts.maxBackoffMs ?? 10_000;
    const ms = Math.min(max, min * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}

function abandoned(record: KafkaRecord, why: string, cause?: unknown): KafkaError {
  const where = `${record.topic}/${record.partition}@${record.offset}`;
  return new KafkaError('PROM_RELAY_KAFKA_PRODUCE', `dead letter for ${where} abandoned by shutdown or rebalance: ${why}`, { cause });
}

/**
 * Refused for good: a protocol error the broker marks non-retriable (authorisation, invalid record), or an error
 * that did not come from the Kafka client at all (a bug: retrying cannot help). Anything else, a broker away,
 * a leader moving, a topic not there yet, is worth waiting for.
 */
function isPermanent(err: unknown): boolean {
  const chain = errorChain(err);
  const typed = chain.filter((e) => typeof e.type === 'string').at(-1);
  if (typed) return typed.retriable === false;
  return !chain.some((e) => typeof e.name === 'string' && e.name.startsWith('KafkaJS'));
}
