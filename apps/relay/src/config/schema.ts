// The relay's config: one zod schema, every key with its default (documented in apps/relay/README.md).
import { REMOTE_WRITE_PROTOCOL_HEADERS } from '@prom-relay/push-client';
import { z } from 'zod';
import { AGGREGATOR_HEAP_GROWING_PERCENT, AGGREGATOR_SEMI_SPACE_MIB } from '../heap/small-heap.js';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration as `500ms`, `10s`, `5m`, `1h`, or a number of milliseconds; parsed to milliseconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const m = DURATION_RE.exec(s);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}

const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 10s, 5m, 1h; got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return ms;
    });

/** A duration that must be more than zero (a 0 ms timeout would fail every request). */
const positiveDuration = (def: string) =>
  duration(def).refine((ms) => ms > 0, { message: 'must be more than 0' });

// Env values arrive as strings: numbers, booleans and lists are coerced before validation.
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().int().min(min).max(max)).default(def);
const bool = (def: boolean) =>
  z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()).default(def);
const list = (def: string[]) =>
  z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v),
      z.array(z.string().min(1)).min(1),
    )
    .default(def);
const optionalList = () =>
  z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v),
    z.array(z.string().min(1)).optional(),
  );

/** An absolute http(s) URL: `localhost:9090/api/v1/write` parses as a URL with scheme `localhost:`, so the scheme is checked. */
const httpUrl = (def: string) =>
  z
    .string()
    .default(def)
    .refine(
      (v) => {
        try {
          const url = new URL(v);
          return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
        } catch {
          return false;
        }
      },
      { error: (issue) => `expected an absolute http:// or https:// URL like http://prometheus:9090/api/v1/write; got ${JSON.stringify(issue.input)}` },
    );

/**
 * `protocol: 2.0` unquoted is the YAML number 2: read it (and 1.0) as the version string it was written as.
 * `auto`: 2.0 first, 1.0 for good after a 415 or a 2xx without the 2.0 written-count headers (the batch is re-sent).
 */
const protocolVersion = z.preprocess(
  (v) => (v === 1 || v === '1' ? '1.0' : v === 2 || v === '2' ? '2.0' : v),
  z.enum(['1.0', '2.0', 'auto'], { error: (issue) => `expected 1.0, 2.0 or auto; got ${JSON.stringify(issue.input)}` }),
);

const PROTECTED_HEADERS = new Set(REMOTE_WRITE_PROTOCOL_HEADERS.map((h) => h.toLowerCase()));

/** Extra remote write headers: valid HTTP names, never one the protocol sets. */
const remoteWriteHeaders = z
  .record(z.string(), z.string())
  .default({})
  .superRefine((headers, ctx) => {
    for (const name of Object.keys(headers)) {
      if (PROTECTED_HEADERS.has(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: [name], message: `header ${name} is set by the protocol and cannot be overridden` });
      } else if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: `${JSON.stringify(name)} is not a valid header name` });
      }
    }
  });

/** A secret given inline (`password`) or as a file (`password_file`); resolved at load time. */
const secretPair = <K extends string>(key: K) =>
  ({
    [key]: z.string().optional(),
    [`${key}_file`]: z.string().optional(),
  }) as { [P in K | `${K}_file`]: z.ZodOptional<z.ZodString> };

const sslSchema = z
  .strictObject({
    enabled: bool(false),
    ca_file: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    reject_unauthorized: bool(true),
  })
  .prefault({});

const saslSchema = z
  .strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    ...secretPair('password'),
  })
  .optional();

const kafkaSchema = z
  .strictObject({
    brokers: list(['localhost:9092']),
    client_id: z.string().min(1).default('prom-relay'),
    group_id: z.string().min(1).default('prom-relay'),
    topics: list(['prom-relay.metrics']),
    dlq_topic: z.string().min(1).default('prom-relay.dlq'),
    checkpoint_topic: z.string().min(1).default('prom-relay.checkpoints'),
    /** max.message.bytes set on the checkpoint topic: one partition's whole state must fit in one message */
    checkpoint_max_message_bytes: int(64 * 1024 * 1024, 1024),
    /** max.message.bytes of the DLQ topic; default: the larger of 16 MiB and ingest.max_body_bytes + 64 KiB (set by loadConfig) */
    dlq_max_message_bytes: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().int().min(1024)).optional(),
    /** create missing topics: the consumed topics, the DLQ and the compacted checkpoint topic */
    create_topics: bool(true),
    /** partitions of a consumed topic the relay creates (the most relays that can share the work) */
    topic_partitions: int(6, 1, 100_000),
    /** replication factor of the topics the relay creates; default: the broker's default.replication.factor */
    topic_replication_factor: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().int().min(1).max(32767)).optional(),
    from_beginning: bool(true),
    session_timeout: duration('30s'),
    heartbeat_interval: duration('3s'),
    rebalance_timeout: duration('60s'),
    connection_timeout: duration('3s'),
    request_timeout: duration('30s'),
    max_bytes_per_partition: int(10 * 1024 * 1024, 1024),
    ssl: sslSchema,
    sasl: saslSchema,
  })
  .prefault({});

const remoteWriteSchema = z
  .strictObject({
    url: httpUrl('http://localhost:9090/api/v1/write'),
    protocol: protocolVersion.default('auto'),
    /** type, help and unit of the written families with each flush (RW 1.0 `metadata`, RW 2.0 per series), as Prometheus' own `send_metadata` */
    send_metadata: bool(true),
    username: z.string().optional(),
    ...secretPair('password'),
    ...secretPair('bearer_token'),
    headers: remoteWriteHeaders,
    timeout: positiveDuration('30s'),
    max_samples_per_request: int(5000, 1),
    concurrency: int(2, 1, 256),
    retry_max_elapsed: duration('30s'),
  })
  .prefault({});

const ruleSchema = z
  .strictObject({
    /** a metric name or series selector, e.g. `http_requests_total{code=~"5.."}` */
    match: z.string().min(1),
    by: z.array(z.string().min(1)).optional(),
    without: z.array(z.string().min(1)).optional(),
    /** required unless the rule only declares input_type */
    outputs: z.array(z.enum(['total', 'sum', 'last', 'min', 'max', 'avg', 'count', 'histogram'])).min(1).optional(),
    /** read matched counter/gauge/untyped samples as this type, whatever their `# TYPE` says (Flink writes counters as gauges) */
    input_type: z.enum(['counter', 'gauge']).optional(),
    /** also feed the default output of matched series */
    keep_input: bool(false),
    /** upper bounds of the `histogram` output over plain samples */
    buckets: z.array(z.number()).min(1).optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.outputs !== undefined) return;
    if (rule.input_type === undefined) {
      ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'a rule needs outputs (or input_type alone, to declare the type of its inputs)' });
      return;
    }
    for (const key of ['by', 'without', 'buckets'] as const) {
      if (rule[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} needs outputs: a rule with input_type and no outputs only declares the type of its inputs` });
    }
    if (rule.keep_input) ctx.addIssue({ code: 'custom', path: ['keep_input'], message: 'keep_input needs outputs: a rule with input_type and no outputs only declares the type of its inputs' });
  });

const aggregationSchema = z
  .strictObject({
    series_ttl: duration('5m'),
    /** counter-like outputs (totals, histogram parts, summary _sum/_count) are kept, and flushed, this long unfed */
    counter_ttl: duration('26h'),
    producer_ttl: duration('1h'),
    /** labels naming a producer, removed from output series */
    producer_labels: optionalList(),
    /** output series per partition */
    max_series: int(2_000_000, 1),
    max_series_per_job: int(100_000, 1),
    max_labels_per_series: int(64, 1),
    max_label_value_length: int(2048, 1),
    rules: z.array(ruleSchema).default([]),
    /** `prom-relay aggregate` only: aggregator processes (node:cluster), each a member of the consumer group; default 1 */
    processes: int(1, 1, 1024),
    /** `prom-relay aggregate` and `run`: the old generation may grow this share past its live size before V8's next
     *  major GC (heap/small-heap.ts); 0: V8's own growth, up to 4x */
    heap_growing_percent: int(AGGREGATOR_HEAP_GROWING_PERCENT, 0, 1000),
    /** `prom-relay aggregate` and `run`: V8's young generation's semi-space stops growing at this many MiB
     *  (heap/small-heap.ts); 0: V8's own growth, up to 16 MiB */
    semi_space_mib: int(AGGREGATOR_SEMI_SPACE_MIB, 0, 64),
    /** `prom-relay aggregate` and `run`: one memory-reducing GC when a major GC leaves the old generation mostly holes
     *  (heap/compaction.ts), at most every 10 minutes */
    heap_compaction: bool(true),
  })
  .prefault({});

const repartitionSchema = z
  .strictObject({
    /** internal topic: source partitions publish their partials there, keyed to the owner of each output series;
     *  default `<kafka.group_id>.partials` (one per deployment: two groups must never share it) */
    topic: z.string().min(1).optional(),
    /** partitions of that topic when the relay creates it; 0: as many as the first input topic has */
    partitions: int(0, 0, 10_000),
    /** how long the topic keeps partials: a relay restoring an owner partition replays from its checkpoint */
    retention: duration('6h'),
    /** an owner drops a source's partial not refreshed this long (sources republish every live series each flush);
     *  at least aggregation.counter_ttl (and series_ttl) + 3 flushes whatever is set */
    partial_ttl: duration('27h'),
  })
  .prefault({});

const flushSchema = z
  .strictObject({
    interval: duration('10s'),
    /** a source partition (an input topic's) is checkpointed at most this often while records are applied: less
     *  serialisation per flush, a longer (exact) replay after a crash; owners are checkpointed every flush */
    source_checkpoint_interval: duration('30s'),
  })
  .prefault({});

const serverSchema = z
  .strictObject({
    host: z.string().default('0.0.0.0'),
    port: int(9464, 0, 65535),
    /** time a client has to send a request's headers, from its connection or its previous response; 0: none */
    headers_timeout: duration('10s'),
    /** time a client has to send a whole request, headers and body; 0: none */
    request_timeout: duration('30s'),
    /** how long a kept-alive connection may sit idle between requests */
    keep_alive_timeout: positiveDuration('60s'),
    /** open HTTP connections at most; more are closed as they arrive */
    max_connections: int(1000, 1),
  })
  .superRefine((s, ctx) => {
    // Node refuses a headers timeout longer than the request timeout; say so with the key path instead.
    if (s.headers_timeout > 0 && s.request_timeout > 0 && s.headers_timeout > s.request_timeout) {
      ctx.addIssue({ code: 'custom', path: ['headers_timeout'], message: `must not be longer than server.request_timeout (${s.request_timeout} ms)` });
    }
  })
  .prefault({});

const ingestSchema = z
  .strictObject({
    enabled: bool(true),
    /** topic the HTTP ingest writes to; default: the first of kafka.topics */
    topic: z.string().min(1).optional(),
    max_body_bytes: int(8 * 1024 * 1024, 1),
    username: z.string().optional(),
    ...secretPair('password'),
    /** more basic-auth credentials (one per team, say); each password inline or from password_file */
    credentials: z.array(z.strictObject({ username: z.string().min(1), ...secretPair('password') })).default([]),
    /** bearer tokens accepted besides basic auth */
    bearer_tokens: z.array(z.string().min(1)).default([]),
    /** files each holding one bearer token */
    bearer_token_files: z.array(z.string().min(1)).default([]),
    /** `prom-relay ingest` only: worker processes sharing the port (node:cluster); default 1 (one process, under 100 MiB) */
    workers: z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v), z.number().int().min(1).max(1024)).default(1),
  })
  .prefault({});

const logSchema = z
  .strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .prefault({});

const shutdownSchema = z
  .strictObject({
    timeout: duration('30s'),
  })
  .prefault({});

export const relayConfigSchema = z.strictObject({
  kafka: kafkaSchema,
  remote_write: remoteWriteSchema,
  aggregation: aggregationSchema,
  repartition: repartitionSchema,
  flush: flushSchema,
  server: serverSchema,
  ingest: ingestSchema,
  log: logSchema,
  shutdown: shutdownSchema,
});

export const CONFIG_SECTIONS = Object.keys(relayConfigSchema.shape) as (keyof typeof relayConfigSchema.shape)[];

export type RelayConfig = z.output<typeof relayConfigSchema>;
export type RelayConfigInput = z.input<typeof relayConfigSchema>;
export type AggregationRuleConfig = z.output<typeof ruleSchema>;
