// The prom-relay Kafka message format (docs/message-format.md): the one place that writes keys and headers.
import { EmitterError } from './errors.js';

export const HEADER = {
  contentType: 'content-type',
  contentEncoding: 'content-encoding',
  job: 'prom-relay-job',
  grouping: 'prom-relay-grouping',
  producer: 'prom-relay-producer',
  seq: 'prom-relay-seq',
  temporality: 'prom-relay-temporality',
  op: 'prom-relay-op',
} as const;

export const CONTENT_TYPE = {
  text: 'text/plain; version=0.0.4',
  ndjson: 'application/x-ndjson',
  remoteWriteV1: 'application/x-protobuf',
  remoteWriteV2: 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
} as const;

export const DEFAULT_TOPIC = 'prom-relay.metrics';
/** Grouping labels left out of the key so that every instance of a job lands on one partition. */
export const DEFAULT_PRODUCER_LABELS: readonly string[] = ['instance'];

export type Temporality = 'cumulative' | 'delta';
export type PushOp = 'push' | 'add' | 'delete';
export type Grouping = Record<string, string>;

/** What a message says about itself in its headers. */
export interface MessageMeta {
  contentType: string;
  contentEncoding?: 'snappy';
  job: string;
  grouping: Grouping;
  producerId: string;
  sequence?: number;
  temporality?: Temporality;
  op?: PushOp;
}

/** A message ready for a Kafka producer (kafkajs `Message` compatible). */
export interface MetricsMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws on an empty job, a bad grouping label name, or a `job` grouping label (it would fight the header). */
export function validateGroup(job: string, grouping: Grouping): void {
  if (typeof job !== 'string' || job.length === 0) {
    throw new EmitterError('PROM_RELAY_EMITTER_GROUPING', 'job must be a non-empty string');
  }
  for (const [name, value] of Object.entries(grouping)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) {
      throw new EmitterError('PROM_RELAY_EMITTER_GROUPING', `grouping label name ${JSON.stringify(name)} is not a valid label name`);
    }
    if (name === 'job') {
      throw new EmitterError('PROM_RELAY_EMITTER_GROUPING', 'grouping must not contain "job": pass it as job');
    }
    if (typeof value !== 'string') {
      throw new EmitterError('PROM_RELAY_EMITTER_GROUPING', `grouping label ${name} must have a string value`);
    }
  }
}

/** `job=<job>,<name>=<value>...`: the grouping labels minus producer labels, sorted, values percent-encoded. */
export function buildMessageKey(job: string, grouping: Grouping, producerLabels: readonly string[] = DEFAULT_PRODUCER_LABELS): string {
  let key = `job=${encodeURIComponent(job)}`;
  for (const name of Object.keys(grouping).sort()) {
    if (producerLabels.includes(name)) continue;
    key += `,${name}=${encodeURIComponent(grouping[name] as string)}`;
  }
  return key;
}

/** Grouping labels as a URL query string, sorted by name: `instance=host-1&region=eu`. */
export function encodeGrouping(grouping: Grouping): string {
  return Object.keys(grouping)
    .sort()
    .map((name) => `${encodeURIComponent(name)}=${encodeURIComponent(grouping[name] as string)}`)
    .join('&');
}

/** Reads a `prom-relay-grouping` header; accepts `+` for space as URL queries do. */
export function decodeGrouping(query: string): Grouping {
  const grouping: Grouping = {};
  for (const [name, value] of new URLSearchParams(query)) grouping[name] = value;
  return grouping;
}

export function buildMessageHeaders(meta: MessageMeta): Record<string, string> {
  const headers: Record<string, string> = {
    [HEADER.contentType]: meta.contentType,
    [HEADER.job]: meta.job,
    [HEADER.producer]: meta.producerId,
  };
  if (meta.contentEncoding) headers[HEADER.contentEncoding] = meta.contentEncoding;
  const grouping = encodeGrouping(meta.grouping);
  if (grouping.length > 0) headers[HEADER.grouping] = grouping;
  if (meta.sequence !== undefined) headers[HEADER.seq] = String(meta.sequence);
  if (meta.temporality !== undefined) headers[HEADER.temporality] = meta.temporality;
  if (meta.op !== undefined) headers[HEADER.op] = meta.op;
  return headers;
}

/** Builds key and headers for a body; validates the job and grouping first. */
export function buildMessage(meta: MessageMeta, value: Buffer, producerLabels: readonly string[] = DEFAULT_PRODUCER_LABELS): MetricsMessage {
  validateGroup(meta.job, meta.grouping);
  return { key: buildMessageKey(meta.job, meta.grouping, producerLabels), value, headers: buildMessageHeaders(meta) };
}

type HeaderValue = string | Buffer | (string | Buffer)[] | undefined;

function headerString(value: HeaderValue): string | undefined {
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  return typeof first === 'string' ? first : first.toString('utf8');
}

/** Reads message headers as a consumer sees them (kafkajs gives Buffers); throws naming the bad header. */
export function parseMessageHeaders(headers: Record<string, HeaderValue> | undefined): MessageMeta {
  const h = headers ?? {};
  const contentType = headerString(h[HEADER.contentType]);
  if (!contentType) throw new EmitterError('PROM_RELAY_EMITTER_HEADER', `missing header ${HEADER.contentType}`);
  const job = headerString(h[HEADER.job]);
  if (!job) throw new EmitterError('PROM_RELAY_EMITTER_HEADER', `missing header ${HEADER.job}`);
  const producerId = headerString(h[HEADER.producer]);
  if (!producerId) throw new EmitterError('PROM_RELAY_EMITTER_HEADER', `missing header ${HEADER.producer}`);
  const meta: MessageMeta = { contentType, job, producerId, grouping: decodeGrouping(headerString(h[HEADER.grouping]) ?? '') };
  const encoding = headerString(h[HEADER.contentEncoding]);
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    if (encoding !== 'snappy') throw new EmitterError('PROM_RELAY_EMITTER_HEADER', `unsupported ${HEADER.contentEncoding} ${JSON.stringify(encoding)}`);
    meta.contentEncoding = 'snappy';
  }
  const seq = headerString(h[HEADER.seq]);
  if (seq !== undefined) {
    if (!/^\d+$/.test(seq) || !Number.isSafeInteger(Number(seq))) {
      throw new EmitterError('PROM_RELAY_EMITTER_HEADER', `${HEADER.seq} must be a decimal integer, got ${JSON.stringify(seq)}`);
    }
    meta.sequence = Number(seq);
  }
  const temporality = headerString(h[HEADER.temporality]);
  if (temporality !== undefined) {
    if (temporality !== 'cumulative' && temporality !== 'delta') {
      throw new EmitterError('PROM_RELAY_EMITTER_HEADER', `${HEADER.temporality} must be cumulative or delta, got ${JSON.stringify(temporality)}`);
    }
    meta.temporality = temporality;
  }
  const op = headerString(h[HEADER.op]);
  if (op !== undefined) {
    if (op !== 'push' && op !== 'add' && op !== 'delete') {
      throw new EmitterError('PROM_RELAY_EMITTER_HEADER', `${HEADER.op} must be push, add or delete, got ${JSON.stringify(op)}`);
    }
    meta.op = op;
  }
  return meta;
}

// ---- JSON lines bodies ----

export type JsonSampleType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
export type JsonNumber = number | 'NaN' | '+Inf' | '-Inf';

/** One line of an `application/x-ndjson` body. */
export interface JsonSample {
  name: string;
  type?: JsonSampleType;
  labels?: Record<string, string>;
  value?: number;
  /** histogram: upper bound (`"0.1"`, `"+Inf"`) -> cumulative count */
  buckets?: Record<string, number>;
  /** summary: quantile (`"0.5"`) -> value */
  quantiles?: Record<string, number>;
  sum?: number;
  count?: number;
  temporality?: Temporality;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE_TYPES: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

function jsonNumber(v: number): JsonNumber {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return v;
}

function numberField(sample: JsonSample, field: string, v: unknown): JsonNumber {
  if (typeof v !== 'number') {
    throw new EmitterError('PROM_RELAY_EMITTER_SAMPLE', `sample ${JSON.stringify(sample.name)}: ${field} must be a number`);
  }
  return jsonNumber(v);
}

function numberMap(sample: JsonSample, field: string, m: Record<string, number>): Record<string, JsonNumber> {
  const out: Record<string, JsonNumber> = {};
  for (const [k, v] of Object.entries(m)) out[k] = numberField(sample, `${field}[${k}]`, v);
  return out;
}

/** One JSON line per sample, non-finite values as strings; throws naming the bad sample. */
export function formatJsonLines(samples: readonly JsonSample[]): string {
  let out = '';
  for (const s of samples) {
    if (typeof s?.name !== 'string' || !METRIC_NAME.test(s.name)) {
      throw new EmitterError('PROM_RELAY_EMITTER_SAMPLE', `sample name ${JSON.stringify(s?.name)} is not a valid metric name`);
    }
    const type = s.type ?? 'untyped';
    if (!SAMPLE_TYPES.includes(type)) throw new EmitterError('PROM_RELAY_EMITTER_SAMPLE', `sample ${s.name}: unknown type ${JSON.stringify(type)}`);
    const line: Record<string, unknown> = { name: s.name, type };
    if (s.labels !== undefined) {
      for (const [k, v] of Object.entries(s.labels)) {
        if (!LABEL_NAME.test(k) || typeof v !== 'string') {
          throw new EmitterError('PROM_RELAY_EMITTER_SAMPLE', `sample ${s.name}: label ${JSON.stringify(k)} is not a valid label with a string value`);
        }
      }
      line.labels = s.labels;
    }
    if (type === 'histogram') {
      if (s.buckets === undefined) throw new EmitterError('PROM_RELAY_EMITTER_SAMPLE', `sample ${s.name}: a histogram needs buckets`);
      line.buckets = numberMap(s, 'buckets', s.buckets);
      line.sum = numberField(s, 'sum', s.sum);
      line.count = numberField(s, 'count', s.count);
    } else if (type === 'summary') {
      line.quantiles = numberMap(s, 'quantiles', s.quantiles ?? {});
      line.sum = numberField(s, 'sum', s.sum);
      line.count = numberField(s, 'count', s.count);
    } else {
      line.value = numberField(s, 'value', s.value);
    }
    if (s.temporality !== undefined) line.temporality = s.temporality;
    out += JSON.stringify(line) + '\n';
  }
  return out;
}
