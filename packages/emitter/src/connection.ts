// One Kafka connection of the emitter: a fresh kafkajs client and idempotent producer over its own SocketGroup.
// Every connect or send is an attempt bounded by `attemptMs` or by abort(): giving it up destroys the sockets, so
// kafkajs fails what is in flight and clears its timers, and nothing waits for kafkajs' own timeouts or retries.
// A fresh client per connection: late kafkajs retries of a given-up connection find their factory refusing sockets.
import { Kafka, Partitioners } from 'kafkajs';
import type { ISocketFactory, KafkaConfig, Message, Producer } from 'kafkajs';
import { fixKafkajsIdleLoop } from './kafkajs-idle-loop.js';
import { SocketGroup } from './sockets.js';

/**
 * kafkajs' own retries inside one attempt: as few and short as it allows (the idempotent producer needs one), so that
 * its retry sleeps, the only kafkajs timers that can hold the process, end within a few hundred ms of an abort.
 * The emitter's pump retries with its own backoff.
 */
export const KAFKAJS_RETRY = { retries: 1, initialRetryTime: 100, maxRetryTime: 200 };

export class KafkaConnection {
  private readonly sockets: SocketGroup;
  private readonly producer: Producer;
  /** gives up the connect or send in progress */
  private abortAttempt: ((reason: string) => void) | undefined;

  /** `config` without a socket factory: `socketFactory` (kafkajs' default when absent) is wrapped in the SocketGroup. */
  constructor(config: KafkaConfig, socketFactory: ISocketFactory | undefined, private readonly attemptMs: number) {
    fixKafkajsIdleLoop();
    this.sockets = new SocketGroup(socketFactory);
    this.producer = new Kafka({ ...config, socketFactory: this.sockets.factory }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // Partitioner of the Java client: the same key lands on the same partition as with any Java/kcat producer.
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: KAFKAJS_RETRY,
    });
  }

  connect(): Promise<void> {
    return this.bounded(this.producer.connect(), 'connect');
  }

  /** One produce request, acks from all in-sync replicas. */
  async send(topic: string, messages: Message[]): Promise<void> {
    await this.bounded(this.producer.send({ topic, acks: -1, timeout: this.attemptMs, messages }), 'send');
  }

  /** Gives up the attempt in progress, if any: it rejects at once, its sockets destroyed. */
  abort(reason: string): void {
    this.abortAttempt?.(reason);
  }

  /** Gives the connection up at once: sockets destroyed, kafkajs' disconnect left to finish in the background. */
  drop(reason: string): void {
    this.abort(reason);
    this.sockets.destroy(reason);
    void this.producer.disconnect().catch(() => undefined);
  }

  /** Closes politely, then destroys what is left after timeoutMs; that timer holds the process only with `hold`. */
  async close(timeoutMs: number, hold: boolean): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.producer.disconnect().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        if (!hold) timer.unref();
      }),
    ]);
    clearTimeout(timer);
    this.sockets.destroy('the emitter disconnected');
  }

  /** Settles with kafkajs' promise, or rejects when the attempt outlives attemptMs or abort() is called. */
  private bounded<T>(work: Promise<T>, what: 'connect' | 'send'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        if (this.abortAttempt === abort) this.abortAttempt = undefined;
        return true;
      };
      const abort = (reason: string): void => {
        if (!finish()) return;
        this.sockets.destroy(reason);
        reject(new Error(`${what} given up: ${reason}`));
      };
      const timer = setTimeout(() => abort(`no answer within sendTimeoutMs (${this.attemptMs} ms)`), this.attemptMs);
      // Only the emitter's hold or a close() deadline decides whether the process waits for this attempt.
      timer.unref();
      this.abortAttempt = abort;
      work.then(
        (value) => finish() && resolve(value),
        (err: unknown) => finish() && reject(err),
      );
    });
  }
}
