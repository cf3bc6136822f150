import { isUtf8 } from 'node:buffer';
import { CodecError, DEFAULT_MAX_DECOMPRESSED_SIZE, decompress } from '@prom-relay/codec';
import type { MetricMetadata } from '@prom-relay/codec';
import type { IngestBatch, InputPoint, Temporality } from '../model.js';
import { DecodeError } from './errors.js';
import { parseHeaders } from './headers.js';
import type { RecordHeaders } from './headers.js';
import { decodeJsonLines } from './json-lines.js';
import { decodeMetricFamilies } from './metric-family.js';
import type { DecodeLimits } from './limits.js';
import { decodeRemoteWrite } from './remote-write.js';
import { decodeExpositionText } from './text.js';
import { validateBatch } from './validate.js';
import { readsAsTotal, type TotalRules } from '../aggregate/plan.js';

/** A Kafka message as kafkajs hands it over (the fields decode reads). */
export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeaders;
}

export interface DecodeOptions {
  /** Largest message body accepted, in bytes, before decompression; default 16 MiB. */
  maxMessageBytes?: number;
  /** Largest body after snappy decompression; default 32 MiB (the codec's default). */
  maxDecompressedBytes?: number;
  /** Temporality when the message has no `prom-relay-temporality` header; default `cumulative`. */
  defaultTemporality?: Temporality;
  /** Label limits (and JSON nesting depth) enforced while text and JSON lines bodies are parsed: see DecodeLimits. */
  limits?: DecodeLimits;
  /**
   * The aggregation rules, when a gauge, untyped or quantile point they read as a running total (`inputType: counter`,
   * a `total` output) must have a running total's value (finite, 0 to 1e300), as the aggregate will require. The HTTP
   * ingest passes its rules (a 2xx means the consumer applies the push); the consumer passes none (its aggregate
   * refuses such a point alone, counted). Plain data: it crosses to the ingest's worker thread.
   */
  totalRules?: TotalRules;
  /** Called for a Remote Write or MetricFamily message that decoded and carried exemplars over the limits (dropped): how many, and where. */
  onExemplarsDropped?: (count: number, format: 'remote-write-v1' | 'remote-write-v2' | 'metric-family', record: KafkaRecord) => void;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * One Kafka message to one IngestBatch (the producer's push), format chosen by `content-type`, validated
 * (validate.ts: counter-like values, duplicate series). The HTTP ingest runs it on every message before producing.
 * Throws DecodeError (code PROM_RELAY_DECODE_*) naming the problem, with line and column where it can.
 */
export function decodeRecord(record: KafkaRecord, opts: DecodeOptions = {}): IngestBatch {
  const headers = parseHeaders(record.headers ?? {}, opts.defaultTemporality ?? 'cumulative');
  const batch: IngestBatch = {
    producerId: headers.producerId,
    job: headers.job,
    grouping: headers.grouping,
    temporality: headers.temporality,
    op: headers.op,
    points: [],
    position: { topic: record.topic, partition: record.partition, offset: record.offset },
  };
  if (headers.sequence !== undefined) batch.sequence = headers.sequence;
  // Samples, not a registry's snapshot: Remote Write (part of a sender's series) and JSON lines (the emitter's `emit`).
  if (headers.format === 'remote-write-v1' || headers.format === 'remote-write-v2' || headers.format === 'json-lines') batch.partial = true;
  const value = record.value;
  if (headers.op === 'delete' || value === null || value.length === 0 || headers.format === null) return batch;

  const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (value.length > maxMessageBytes) {
    throw new DecodeError('PROM_RELAY_DECODE_TOO_LARGE', `message body is ${value.length} bytes, more than the ${maxMessageBytes} allowed`);
  }
  let body: Uint8Array = value;
  if (headers.snappy) {
    try {
      body = decompress(value, { maxSize: opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_SIZE });
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      const tooLarge = cause instanceof CodecError && cause.code === 'PROM_RELAY_CODEC_TOO_LARGE';
      throw new DecodeError(tooLarge ? 'PROM_RELAY_DECODE_TOO_LARGE' : 'PROM_RELAY_DECODE_SNAPPY', `snappy body: ${message}`, { cause });
    }
  }
  const metadata: MetricMetadata[] = [];
  const dropped = { exemplars: 0 };
  batch.points = decodeBody(headers.format, body, headers.job, headers.grouping, opts.limits ?? {}, metadata, dropped);
  if (metadata.length > 0) batch.metadata = metadata;
  validateBatch(batch, headers.format, opts.totalRules === undefined ? undefined : (readsAsTotal(opts.totalRules) ?? undefined));
  if (dropped.exemplars > 0 && (headers.format === 'remote-write-v1' || headers.format === 'remote-write-v2' || headers.format === 'metric-family')) {
    opts.onExemplarsDropped?.(dropped.exemplars, headers.format, record);
  }
  return batch;
}

function decodeBody(
  format: NonNullable<ReturnType<typeof parseHeaders>['format']>,
  body: Uint8Array,
  job: string,
  grouping: IngestBatch['grouping'],
  limits: DecodeLimits,
  metadata: MetricMetadata[],
  dropped: { exemplars: number },
): InputPoint[] {
  switch (format) {
    case 'text':
      return decodeExpositionText(utf8(body, 'PROM_RELAY_DECODE_TEXT'), job, grouping, limits, metadata);
    case 'json-lines':
      return decodeJsonLines(utf8(body, 'PROM_RELAY_DECODE_JSON'), job, grouping, limits);
    case 'remote-write-v1':
      return decodeRemoteWrite(body, 1, job, grouping, metadata, dropped);
    case 'remote-write-v2':
      return decodeRemoteWrite(body, 2, job, grouping, metadata, dropped);
    case 'metric-family':
      return decodeMetricFamilies(body, job, grouping, limits, metadata, dropped);
  }
}

function utf8(body: Uint8Array, code: 'PROM_RELAY_DECODE_TEXT' | 'PROM_RELAY_DECODE_JSON'): string {
  if (!isUtf8(body)) throw new DecodeError(code, 'body is not valid UTF-8');
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}
