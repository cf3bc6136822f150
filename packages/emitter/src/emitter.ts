// The job-side Kafka producer: push()/emit() enqueue and return; a background pump sends.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { logLevel as KafkaLogLevel } from 'kafkajs';
import type { KafkaConfig, logCreator as KafkaLogCreator } from 'kafkajs';
import { KAFKAJS_RETRY, KafkaConnection } from './connection.js';
import { EmitterError } from './errors.js';
import { CONTENT_TYPE, buildMessage, formatJsonLines } from './message.js';
import type { Grouping, JsonSample, MetricsMessage, PushOp, Temporality } from './message.js';
import { resolveEmitterOptions } from './options.js';
import type { EmitterOptions, ResolvedEmitterOptions } from './options.js';

/** Anything with prom-client's `Registry#metrics()`; its content type must be text 0.0.4. */
export interface MetricsRegistry {
  metrics(): Promise<string> | string;
  readonly contentType?: string;
}

export interface PushTarget {
  job: string;
  groupings?: Grouping;
  /** `push` (default: the registry is the producer's whole state) or `add` */
  op?: Exclude<PushOp, 'delete'>;
}

export interface EmitTarget {
  job: string;
  groupings?: Grouping;
  /** default `cumulative`; a sample's own `temporality` overrides it */
  temporality?: Temporality;
}

export interface IntervalPush extends PushTarget {
  intervalMs: number;
  registry: MetricsRegistry;
}

export type DropReason = 'queue-full' | 'closed' | 'close-deadline' | 'invalid' | 'too-large';

export interface DropEvent {
  reason: DropReason;
  count: number;
}

export interface EmitterLogEntry {
  level: 'error' | 'warn' | 'info' | 'debug';
  namespace: string;
  message: string;
}

export interface EmitterStats {
  /** messages waiting or in flight */
  queued: number;
  /** messages Kafka acknowledged */
  sent: number;
  dropped: number;
  errors: number;
  /** the next sequence number */
  sequence: number;
}

export interface CloseResult {
  /** true when everything queued was acknowledged before the deadline */
  flushed: boolean;
  /** messages given up at close */
  dropped: number;
}

export interface EmitterEvents {
  error: [EmitterError];
  drop: [DropEvent];
  sent: [{ count: number }];
  log: [EmitterLogEntry];
}

interface QueuedMessage {
  message: MetricsMessage;
  /** value plus key and headers, roughly what the record costs in a produce request */
  bytes: number;
}

const KAFKA_LEVEL: Record<number, EmitterLogEntry['level']> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'info',
  [KafkaLogLevel.DEBUG]: 'debug',
};

const BACKOFF_INITIAL_MS = 100;
const BACKOFF_MAX_MS = 5000;

export class Emitter {
  /** Unique per process run: counters of a new producer start at zero in the relay. */
  readonly producerId: string = randomUUID();
  readonly topic: string;

  private readonly opts: ResolvedEmitterOptions;
  private readonly kafkaConfig: KafkaConfig;
  private connection: KafkaConnection | undefined;
  /** `connection` is connected */
  private connected = false;
  /** ref'd while messages wait and the job has neither closed nor installed exit hooks: at most holdMs */
  private holdTimer: NodeJS.Timeout | undefined;
  private exitHooks = false;
  private waiting: QueuedMessage[] = [];
  private inflight: QueuedMessage[] = [];
  private sequence = 0;
  private sentCount = 0;
  private droppedCount = 0;
  private errorCount = 0;
  private pumping = false;
  private closing = false;
  private aborted = false;
  private backoffMs = BACKOFF_INITIAL_MS;
  private singleMessageSends = 0;
  private backoffTimer: NodeJS.Timeout | undefined;
  private wakeBackoff: (() => void) | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private intervals: { timer: NodeJS.Timeout; push: IntervalPush }[] = [];
  private closePromise: Promise<CloseResult> | undefined;
  // Composed, not inherited: emit() is the job's API for JSON samples.
  private readonly events = new EventEmitter<EmitterEvents>();

  constructor(options: EmitterOptions) {
    this.opts = resolveEmitterOptions(options);
    this.topic = this.opts.topic;
    const logCreator: KafkaLogCreator = () => (entry) => {
      // kafkajs logs every retry at ERROR: route it to 'log' listeners instead of the job's stdout.
      if (this.events.listenerCount('log') === 0) return;
      this.events.emit('log', { level: KAFKA_LEVEL[entry.level] ?? 'info', namespace: entry.namespace, message: entry.log.message });
    };
    this.kafkaConfig = {
      clientId: this.opts.clientId,
      brokers: this.opts.brokers,
      connectionTimeout: 1000,
      ...this.opts.kafka,
      retry: KAFKAJS_RETRY,
      // kafkajs enforces its request timeout with a ref'd interval per connection, which holds a finished job; the
      // emitter bounds each whole attempt with sendTimeoutMs instead (KafkaConnection).
      enforceRequestTimeout: false,
      logLevel: KafkaLogLevel.WARN,
      logCreator,
    };
  }

  /** Snapshots the registry into one text-exposition message and queues it; never rejects. */
  async push(registry: MetricsRegistry, target: PushTarget): Promise<void> {
    if (this.rejectClosed()) return;
    let text: string;
    try {
      if (registry.contentType !== undefined && !registry.contentType.startsWith('text/plain')) {
        throw new EmitterError('PROM_RELAY_EMITTER_SNAPSHOT', `registry content type ${registry.contentType} is not text exposition 0.0.4`);
      }
      text = await registry.metrics();
    } catch (err) {
      this.fail(err instanceof EmitterError ? err : new EmitterError('PROM_RELAY_EMITTER_SNAPSHOT', `registry.metrics() failed: ${String(err)}`, { cause: err }));
      this.drop('invalid', 1);
      return;
    }
    this.enqueue(target?.job, target?.groupings ?? {}, { contentType: CONTENT_TYPE.text, op: target?.op }, text);
  }

  /** Subscribes to 'error', 'drop', 'sent' or 'log'. Without an 'error' listener errors are only counted. */
  on<K extends keyof EmitterEvents>(event: K, listener: (...args: EmitterEvents[K]) => void): this {
    this.events.on(event, listener as never);
    return this;
  }

  once<K extends keyof EmitterEvents>(event: K, listener: (...args: EmitterEvents[K]) => void): this {
    this.events.once(event, listener as never);
    return this;
  }

  off<K extends keyof EmitterEvents>(event: K, listener: (...args: EmitterEvents[K]) => void): this {
    this.events.off(event, listener as never);
    return this;
  }

  /** Queues JSON samples as one `application/x-ndjson` message; never throws (bad samples: 'error' + 'drop'). */
  emit(samples: readonly JsonSample[], target: EmitTarget): void {
    if (this.rejectClosed()) return;
    let body: string;
    try {
      body = formatJsonLines(samples);
    } catch (err) {
      this.fail(err as EmitterError);
      this.drop('invalid', 1);
      return;
    }
    this.enqueue(target?.job, target?.groupings ?? {}, { contentType: CONTENT_TYPE.ndjson, temporality: target?.temporality ?? 'cumulative' }, body);
  }

  /** Pushes the registry every intervalMs (timer does not keep the process alive); close() pushes once more. */
  start(push: IntervalPush): void {
    if (!Number.isInteger(push.intervalMs) || push.intervalMs < 1) {
      throw new EmitterError('PROM_RELAY_EMITTER_OPTIONS', `start: intervalMs must be a positive integer, got ${JSON.stringify(push.intervalMs)}`);
    }
    const timer = setInterval(() => void this.push(push.registry, push), push.intervalMs);
    timer.unref();
    this.intervals.push({ timer, push });
  }

  /** Waits until everything queued is acknowledged (true) or the deadline passes (false); never rejects. */
  flush(deadlineMs = 5000): Promise<boolean> {
    if (this.isIdle()) return Promise.resolve(true);
    this.kick();
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.idleWaiters = this.idleWaiters.filter((w) => w !== onIdle);
        resolve(ok);
      };
      const onIdle = () => done(true);
      // A ref'd timer: while the job flushes, the process stays up until the deadline.
      const timer = setTimeout(() => done(false), deadlineMs);
      this.idleWaiters.push(onIdle);
      this.wakeBackoff?.();
    });
  }

  /** Final pushes for start(), flush until the deadline, then drop what is left (counted) and disconnect. */
  close(deadlineMs = 5000): Promise<CloseResult> {
    this.closePromise ??= this.doClose(deadlineMs);
    return this.closePromise;
  }

  /**
   * Opt-in: flush and close on `beforeExit` and SIGTERM; returns a function that removes the hooks. With the hooks the
   * emitter never holds the process (no holdMs): `beforeExit` comes as soon as the job is done, close() bounds the rest.
   */
  installExitHooks(options: { deadlineMs?: number } = {}): () => void {
    const deadlineMs = options.deadlineMs ?? 5000;
    this.exitHooks = true;
    this.releaseHold();
    const onBeforeExit = () => {
      if (this.closePromise === undefined) void this.close(deadlineMs);
    };
    const onSigterm = () => {
      void this.close(deadlineMs).then(() => {
        process.removeListener('SIGTERM', onSigterm);
        // Nobody else handles SIGTERM: terminate as the default handler would have.
        if (process.listenerCount('SIGTERM') === 0) process.kill(process.pid, 'SIGTERM');
      });
    };
    process.on('beforeExit', onBeforeExit);
    process.on('SIGTERM', onSigterm);
    return () => {
      process.removeListener('beforeExit', onBeforeExit);
      process.removeListener('SIGTERM', onSigterm);
      this.exitHooks = false;
      if (!this.isIdle()) this.hold();
    };
  }

  stats(): EmitterStats {
    return {
      queued: this.waiting.length + this.inflight.length,
      sent: this.sentCount,
      dropped: this.droppedCount,
      errors: this.errorCount,
      sequence: this.sequence,
    };
  }

  // ---- internals ----

  private async doClose(deadlineMs: number): Promise<CloseResult> {
    const start = Date.now();
    const finals = this.intervals.map(({ timer, push }) => {
      clearInterval(timer);
      return this.push(push.registry, push);
    });
    this.intervals = [];
    await Promise.all(finals);
    this.closing = true;
    // From here close()'s own deadline keeps the process alive, no longer holdMs (the final pushes armed it).
    this.releaseHold();
    const flushed = await this.flush(Math.max(0, deadlineMs - (Date.now() - start)));
    this.aborted = true;
    // Past the deadline nothing of kafkajs may keep the job: give up the attempt in progress and its sockets.
    this.connection?.abort(`close(${deadlineMs}) deadline passed`);
    this.wakeBackoff?.();
    const left = this.waiting.length + this.inflight.length;
    this.waiting = [];
    this.inflight = [];
    if (left > 0) this.drop('close-deadline', left);
    clearTimeout(this.lingerTimer);
    if (flushed) await this.disconnect(Math.max(100, deadlineMs - (Date.now() - start)), true);
    else this.dropConnection('the emitter closed');
    return { flushed, dropped: left };
  }

  private rejectClosed(): boolean {
    if (!this.closing && !this.aborted) return false;
    this.fail(new EmitterError('PROM_RELAY_EMITTER_CLOSED', 'the emitter is closed: message dropped'));
    this.drop('closed', 1);
    return true;
  }

  private enqueue(job: string | undefined, grouping: Grouping, meta: { contentType: string; op?: PushOp | undefined; temporality?: Temporality }, body: string): void {
    let message: MetricsMessage;
    try {
      message = buildMessage(
        { contentType: meta.contentType, job: job as string, grouping, producerId: this.producerId, sequence: this.sequence, op: meta.op, temporality: meta.temporality },
        Buffer.from(body, 'utf8'),
        this.opts.producerLabels,
      );
    } catch (err) {
      this.fail(err as EmitterError);
      this.drop('invalid', 1);
      return;
    }
    // Only queued messages take a sequence number, so the relay sees gaps only for messages dropped from the queue.
    this.sequence++;
    if (this.waiting.length >= this.opts.maxQueue) {
      if (this.opts.dropPolicy === 'drop-newest') {
        this.drop('queue-full', 1);
        return;
      }
      this.waiting.shift();
      this.drop('queue-full', 1);
    }
    this.waiting.push({ message, bytes: message.value.length + message.key.length + 200 });
    this.hold();
    this.kick();
  }

  /**
   * A job that ends without close() or exit hooks: the emitter's sockets are unref'd, so only this timer keeps the
   * process alive to deliver what is queued, at most holdMs after the last push()/emit().
   */
  private hold(): void {
    if (this.exitHooks || this.closePromise !== undefined || this.aborted || this.opts.holdMs === 0) return;
    if (this.holdTimer === undefined) this.holdTimer = setTimeout(() => this.holdExpired(), this.opts.holdMs);
    else this.holdTimer.refresh();
  }

  private releaseHold(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }

  /** Nothing delivered within holdMs: give up the attempt in progress (the messages stay queued), hold no longer. */
  private holdExpired(): void {
    this.holdTimer = undefined;
    this.connection?.abort(`nothing delivered within holdMs (${this.opts.holdMs} ms) of the last push`);
  }

  private drop(reason: DropReason, count: number): void {
    this.droppedCount += count;
    if (this.events.listenerCount('drop') > 0) this.events.emit('drop', { reason, count });
  }

  private fail(err: EmitterError): void {
    this.errorCount++;
    // An 'error' event without a listener would throw into the job.
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
  }

  private isIdle(): boolean {
    return this.waiting.length === 0 && this.inflight.length === 0;
  }

  private kick(): void {
    if (this.pumping || this.aborted) return;
    this.pumping = true;
    clearTimeout(this.lingerTimer);
    // Start sending on a later turn: kafkajs encodes a batch synchronously, which must not land inside push()/emit().
    setImmediate(() => this.startPump());
  }

  private startPump(): void {
    this.pump().catch((err: unknown) => this.fail(new EmitterError('PROM_RELAY_EMITTER_SEND', `send loop failed: ${String(err)}`, { cause: err })));
  }

  private async pump(): Promise<void> {
    try {
      while (this.waiting.length > 0 && !this.aborted) {
        if (!this.connected) {
          try {
            await this.connect();
          } catch (err) {
            if (this.aborted) break;
            this.fail(new EmitterError('PROM_RELAY_EMITTER_CONNECT', `cannot connect to Kafka ${this.opts.brokers.join(',')}: ${errorMessage(err)}`, { cause: err }));
            await this.backoff();
            continue;
          }
        }
        const batch = this.takeBatch();
        this.inflight = batch;
        try {
          await this.connection!.send(this.opts.topic, batch.map((q) => q.message));
          this.inflight = [];
          this.sentCount += batch.length;
          this.backoffMs = BACKOFF_INITIAL_MS;
          if (this.events.listenerCount('sent') > 0) this.events.emit('sent', { count: batch.length });
        } catch (err) {
          this.inflight = [];
          // close() counted the batch as dropped when it gave the attempt up
          if (this.aborted) break;
          if (isTooLarge(err)) {
            // Retrying cannot help: send messages one by one, and give up on one the broker will never take.
            if (batch.length === 1) {
              this.fail(new EmitterError('PROM_RELAY_EMITTER_SEND', `Kafka refused a message as too large (${batch[0]!.message.value.length} bytes): dropped`, { cause: err }));
              this.drop('too-large', 1);
            } else {
              this.singleMessageSends = batch.length;
              this.requeue(batch);
            }
            continue;
          }
          this.requeue(batch);
          this.fail(new EmitterError('PROM_RELAY_EMITTER_SEND', `Kafka did not acknowledge ${batch.length} message(s): ${errorMessage(err)}`, { cause: err }));
          this.dropConnection('send failed');
          await this.backoff();
        }
      }
    } finally {
      this.pumping = false;
      if (this.isIdle()) {
        this.releaseHold();
        for (const w of this.idleWaiters.splice(0)) w();
        this.scheduleLinger();
      }
    }
  }

  /** Up to batchSize messages and maxBatchBytes (at least one message), fewer after a too-large refusal. */
  private takeBatch(): QueuedMessage[] {
    if (this.singleMessageSends > 0) {
      this.singleMessageSends--;
      return this.waiting.splice(0, 1);
    }
    let bytes = 0;
    let n = 0;
    while (n < this.waiting.length && n < this.opts.batchSize) {
      bytes += this.waiting[n]!.bytes;
      if (n > 0 && bytes > this.opts.maxBatchBytes) break;
      n++;
    }
    return this.waiting.splice(0, n);
  }

  private requeue(batch: QueuedMessage[]): void {
    this.waiting = batch.concat(this.waiting);
    const excess = this.waiting.length - this.opts.maxQueue;
    if (excess > 0) {
      if (this.opts.dropPolicy === 'drop-newest') this.waiting.splice(this.waiting.length - excess, excess);
      else this.waiting.splice(0, excess);
      this.drop('queue-full', excess);
    }
  }

  private async connect(): Promise<void> {
    const connection = new KafkaConnection(this.kafkaConfig, this.opts.kafka.socketFactory, this.opts.sendTimeoutMs);
    this.connection = connection;
    try {
      await connection.connect();
    } catch (err) {
      this.dropConnection('connect failed');
      throw err;
    }
    this.connected = true;
  }

  /** Gives the connection up at once (the attempt in progress rejects). */
  private dropConnection(reason: string): void {
    const connection = this.connection;
    this.connection = undefined;
    this.connected = false;
    connection?.drop(reason);
  }

  /** Closes an idle connection politely within timeoutMs (that wait holds the process only with `hold`). */
  private async disconnect(timeoutMs: number, hold: boolean): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.connected = false;
    await connection?.close(timeoutMs, hold);
  }

  private scheduleLinger(): void {
    clearTimeout(this.lingerTimer);
    if (!this.connected || this.aborted) return;
    this.lingerTimer = setTimeout(() => {
      if (this.isIdle() && !this.pumping) void this.disconnect(this.opts.sendTimeoutMs, false);
    }, this.opts.lingerMs);
    this.lingerTimer.unref();
  }

  /** Waits with exponential backoff and jitter; the timer does not keep the process alive. */
  private backoff(): Promise<void> {
    if (this.aborted) return Promise.resolve();
    const ms = this.backoffMs * (0.5 + Math.random() / 2);
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    return new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(this.backoffTimer);
        this.wakeBackoff = undefined;
        resolve();
      };
      this.wakeBackoff = wake;
      this.backoffTimer = setTimeout(wake, ms);
      this.backoffTimer.unref();
    });
  }
}

/** kafkajs reports a record or batch past the broker's limits with these protocol error types. */
function isTooLarge(err: unknown): boolean {
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
  }
  return false;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Validates the options (throws EmitterError naming the field) and builds an emitter; nothing connects until the first send. */
export function createEmitter(options: EmitterOptions): Emitter {
  return new Emitter(options);
}
