import type { KafkaConfig } from 'kafkajs';
import { EmitterError } from './errors.js';
import { DEFAULT_PRODUCER_LABELS, DEFAULT_TOPIC } from './message.js';

export type DropPolicy = 'drop-oldest' | 'drop-newest';

/**
 * kafkajs client options the emitter passes through (TLS, SASL, timeouts, socket factory). Not `retry` nor
 * `requestTimeout`: the emitter retries with its own backoff and bounds every attempt with `sendTimeoutMs`.
 */
export type EmitterKafkaOptions = Pick<KafkaConfig, 'ssl' | 'sasl' | 'connectionTimeout' | 'authenticationTimeout' | 'reauthenticationThreshold' | 'socketFactory'>;

/** kafkajs options the emitter owns: passing them is an error that says what to use instead. */
const OWNED_KAFKA_OPTIONS: Record<string, string> = {
  retry: 'the emitter retries with its own backoff as long as the process runs; sendTimeoutMs bounds one attempt',
  requestTimeout: 'use sendTimeoutMs, which bounds a whole attempt (connect or send) and cannot be outlived by kafkajs',
  enforceRequestTimeout: 'the emitter enforces sendTimeoutMs itself',
};

export interface EmitterOptions {
  brokers: string[];
  /** default `prom-relay.metrics` */
  topic?: string;
  clientId?: string;
  /** grouping labels left out of the message key; default `['instance']` */
  producerLabels?: string[];
  /** messages waiting to be sent before the drop policy applies; default 1000 */
  maxQueue?: number;
  /** `drop-oldest` (default: a newer cumulative snapshot supersedes an older one) or `drop-newest` */
  dropPolicy?: DropPolicy;
  /** messages per Kafka produce request; default 500 */
  batchSize?: number;
  /** bytes per Kafka produce request, under the broker's default 1 MB message.max.bytes; default 512 KiB */
  maxBatchBytes?: number;
  /** the Kafka connection closes after this long with nothing to send, so a finished job can exit; default 1000 */
  lingerMs?: number;
  /** one connect or send attempt is given up (its sockets destroyed, the batch retried) after this long; default 10000 */
  sendTimeoutMs?: number;
  /**
   * a job that ends without close() or installExitHooks() stays alive at most this long after its last push()/emit()
   * to deliver what is queued; 0: never held (queued messages die with the process); default 5000
   */
  holdMs?: number;
  kafka?: EmitterKafkaOptions;
}

export interface ResolvedEmitterOptions {
  brokers: string[];
  topic: string;
  clientId: string;
  producerLabels: readonly string[];
  maxQueue: number;
  dropPolicy: DropPolicy;
  batchSize: number;
  maxBatchBytes: number;
  lingerMs: number;
  sendTimeoutMs: number;
  holdMs: number;
  kafka: EmitterKafkaOptions;
}

function fail(field: string, problem: string): never {
  throw new EmitterError('PROM_RELAY_EMITTER_OPTIONS', `createEmitter: ${field} ${problem}`);
}

function positiveInt(field: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Validates once, at construction; the error names the bad field. */
export function resolveEmitterOptions(o: EmitterOptions): ResolvedEmitterOptions {
  if (o === null || typeof o !== 'object') fail('options', 'must be an object');
  if (!Array.isArray(o.brokers) || o.brokers.length === 0 || !o.brokers.every((b) => typeof b === 'string' && /^[^:\s]+:\d+$/.test(b))) {
    fail('brokers', `must be a non-empty array of "host:port" strings, got ${JSON.stringify(o.brokers)}`);
  }
  const topic = o.topic ?? DEFAULT_TOPIC;
  if (typeof topic !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(topic)) fail('topic', `is not a valid Kafka topic name: ${JSON.stringify(topic)}`);
  const clientId = o.clientId ?? 'prom-relay-emitter';
  if (typeof clientId !== 'string' || clientId.length === 0) fail('clientId', 'must be a non-empty string');
  const producerLabels = o.producerLabels ?? DEFAULT_PRODUCER_LABELS;
  if (!Array.isArray(producerLabels) || !producerLabels.every((l) => typeof l === 'string')) fail('producerLabels', 'must be an array of label names');
  const dropPolicy = o.dropPolicy ?? 'drop-oldest';
  if (dropPolicy !== 'drop-oldest' && dropPolicy !== 'drop-newest') fail('dropPolicy', `must be "drop-oldest" or "drop-newest", got ${JSON.stringify(dropPolicy)}`);
  const lingerMs = o.lingerMs ?? 1000;
  if (typeof lingerMs !== 'number' || !(lingerMs >= 0)) fail('lingerMs', `must be a number >= 0, got ${JSON.stringify(lingerMs)}`);
  const holdMs = o.holdMs ?? 5000;
  if (typeof holdMs !== 'number' || !Number.isInteger(holdMs) || holdMs < 0) fail('holdMs', `must be an integer >= 0, got ${JSON.stringify(holdMs)}`);
  const kafka = o.kafka ?? {};
  if (kafka === null || typeof kafka !== 'object') fail('kafka', 'must be an object');
  for (const [key, instead] of Object.entries(OWNED_KAFKA_OPTIONS)) {
    if (key in kafka) fail(`kafka.${key}`, `is not supported: ${instead}`);
  }
  return {
    brokers: [...o.brokers],
    topic,
    clientId,
    producerLabels: [...producerLabels],
    maxQueue: positiveInt('maxQueue', o.maxQueue, 1000),
    dropPolicy,
    batchSize: positiveInt('batchSize', o.batchSize, 500),
    maxBatchBytes: positiveInt('maxBatchBytes', o.maxBatchBytes, 512 * 1024),
    lingerMs,
    sendTimeoutMs: positiveInt('sendTimeoutMs', o.sendTimeoutMs, 10_000),
    holdMs,
    kafka,
  };
}
