import { isUtf8 } from 'node:buffer';
import { isValidLabelName } from '@prom-relay/codec';
import { HEADER } from '@prom-relay/emitter';
import type { Labels } from '@prom-relay/codec';
import type { PushOp, Temporality } from '../model.js';
import { DecodeError } from './errors.js';
import { controlCharacter } from './validate.js';

export type HeaderValue = Buffer | string | Array<Buffer | string> | undefined;
export type RecordHeaders = Record<string, HeaderValue>;

/** The header names of docs/message-format.md, from the one module that writes them. */
export const HEADERS = HEADER;

export type BodyFormat = 'text' | 'json-lines' | 'remote-write-v1' | 'remote-write-v2' | 'metric-family';

export interface MessageHeaders {
  format: BodyFormat | null; // null: no content-type (allowed for op delete)
  snappy: boolean;
  job: string;
  grouping: Labels;
  producerId: string;
  sequence: number | undefined;
  temporality: Temporality;
  op: PushOp;
}

/** A header as one string; repeated headers must agree. Names match case-insensitively. */
export function headerString(headers: RecordHeaders, name: string): string | undefined {
  let raw = headers[name];
  if (raw === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === name) {
        raw = headers[key];
        break;
      }
    }
  }
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) return typeof raw === 'string' ? raw : utf8Header(name, raw);
  const values = raw.map((v) => (typeof v === 'string' ? v : utf8Header(name, v)));
  if (values.length === 0) return undefined;
  if (values.some((v) => v !== values[0])) {
    throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${name} is repeated with different values`);
  }
  return values[0];
}

/** A header value's bytes as text; bytes that are not UTF-8 are refused, never replaced with U+FFFD. */
function utf8Header(name: string, value: Buffer): string {
  if (!isUtf8(value)) throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${name} is not valid UTF-8`);
  return value.toString('utf8');
}

/** A job name or grouping value becomes a label value, a Kafka key and a log field: no control characters. */
function checkLabelText(header: string, what: string, value: string): void {
  const control = controlCharacter(value);
  if (control !== undefined) throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${header}: ${what} contains the control character ${control}`);
}

/** Strict percent-decoding (`+` is a space, as in URL queries): malformed escapes or bytes that are not UTF-8 refused. */
function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch (cause) {
    throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${HEADERS.grouping}: ${JSON.stringify(part)} is not valid percent-encoded UTF-8`, { cause });
  }
}

function required(headers: RecordHeaders, name: string): string {
  const value = headerString(headers, name)?.trim();
  if (!value) throw new DecodeError('PROM_RELAY_DECODE_MISSING_HEADER', `header ${name} is required`);
  return value;
}

/** `text/plain; version=0.0.4`, `application/x-ndjson`, `application/x-protobuf[;proto=...]`, and the Go client's
 *  `application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited`. */
export function parseContentType(value: string): BodyFormat {
  const [mediaRaw, ...paramParts] = value.split(';');
  const media = mediaRaw!.trim().toLowerCase();
  const params = new Map<string, string>();
  for (const part of paramParts) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  const bad = (why: string): never => {
    throw new DecodeError('PROM_RELAY_DECODE_CONTENT_TYPE', `content-type ${JSON.stringify(value)}: ${why}`);
  };
  switch (media) {
    case 'text/plain': {
      const version = params.get('version');
      if (version !== undefined && version !== '0.0.4') bad('only text exposition version 0.0.4 is read');
      return 'text';
    }
    case 'application/x-ndjson':
    case 'application/jsonl':
      return 'json-lines';
    case 'application/x-protobuf': {
      const proto = params.get('proto');
      if (proto === undefined || proto === 'prometheus.WriteRequest') return 'remote-write-v1';
      if (proto === 'io.prometheus.write.v2.Request') return 'remote-write-v2';
      return bad(`unknown proto ${JSON.stringify(proto)}`);
    }
    case 'application/vnd.google.protobuf': {
      if (params.get('proto') !== 'io.prometheus.client.MetricFamily') return bad('only proto=io.prometheus.client.MetricFamily is read');
      const encoding = params.get('encoding');
      if (encoding !== undefined && encoding !== 'delimited') return bad('only encoding=delimited is read');
      return 'metric-family';
    }
    default:
      return bad('expected text/plain; version=0.0.4, application/x-ndjson, application/x-protobuf or application/vnd.google.protobuf (MetricFamily, delimited)');
  }
}

/** Grouping labels from a URL query string; empty values mean absent (as in Prometheus). */
export function parseGrouping(value: string): Labels {
  // Names starting with `__` are refused, so no name is special to a plain object (`constructor` is an own property).
  const grouping: Labels = {};
  if (value.trim() === '') return grouping;
  const seen = new Set<string>();
  for (const part of value.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decodeQueryPart(eq < 0 ? part : part.slice(0, eq));
    const labelValue = eq < 0 ? '' : decodeQueryPart(part.slice(eq + 1));
    if (!isValidLabelName(name) || name.startsWith('__')) {
      throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${HEADERS.grouping}: invalid label name ${JSON.stringify(name)}`);
    }
    if (name === 'job') throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${HEADERS.grouping}: job belongs in header ${HEADERS.job}`);
    if (seen.has(name)) throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${HEADERS.grouping}: label ${name} given twice`);
    seen.add(name);
    checkLabelText(HEADERS.grouping, `the value of ${name}`, labelValue);
    if (labelValue !== '') grouping[name] = labelValue;
  }
  return grouping;
}

export function parseHeaders(headers: RecordHeaders, defaultTemporality: Temporality): MessageHeaders {
  const opRaw = headerString(headers, HEADERS.op)?.trim().toLowerCase();
  let op: PushOp = 'push';
  if (opRaw !== undefined && opRaw !== '') {
    if (opRaw !== 'push' && opRaw !== 'add' && opRaw !== 'delete') {
      throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${HEADERS.op}: expected push, add or delete, got ${JSON.stringify(opRaw)}`);
    }
    op = opRaw;
  }
  const contentType = headerString(headers, HEADERS.contentType)?.trim();
  let format: BodyFormat | null = null;
  if (contentType) format = parseContentType(contentType);
  else if (op !== 'delete') throw new DecodeError('PROM_RELAY_DECODE_MISSING_HEADER', `header ${HEADERS.contentType} is required`);

  const encoding = headerString(headers, HEADERS.contentEncoding)?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity' && encoding !== 'snappy') {
    throw new DecodeError('PROM_RELAY_DECODE_CONTENT_ENCODING', `content-encoding ${JSON.stringify(encoding)}: expected snappy or none`);
  }

  const seqRaw = headerString(headers, HEADERS.seq)?.trim();
  let sequence: number | undefined;
  if (seqRaw !== undefined && seqRaw !== '') {
    sequence = Number(seqRaw);
    if (!/^\d+$/.test(seqRaw) || !Number.isSafeInteger(sequence)) {
      throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${HEADERS.seq}: expected a decimal integer from 0 to 2^53-1, got ${JSON.stringify(seqRaw)}`);
    }
  }

  const temporalityRaw = headerString(headers, HEADERS.temporality)?.trim().toLowerCase();
  let temporality = defaultTemporality;
  if (temporalityRaw !== undefined && temporalityRaw !== '') {
    if (temporalityRaw !== 'cumulative' && temporalityRaw !== 'delta') {
      throw new DecodeError('PROM_RELAY_DECODE_HEADER', `header ${HEADERS.temporality}: expected cumulative or delta, got ${JSON.stringify(temporalityRaw)}`);
    }
    temporality = temporalityRaw;
  }

  const job = required(headers, HEADERS.job);
  checkLabelText(HEADERS.job, 'the job name', job);
  return {
    format,
    snappy: encoding === 'snappy',
    job,
    grouping: parseGrouping(headerString(headers, HEADERS.grouping) ?? ''),
    producerId: required(headers, HEADERS.producer),
    sequence,
    temporality,
    op,
  };
}
