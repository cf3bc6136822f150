import { PromRelayError } from '@prom-relay/codec';

export const DECODE_ERROR_CODES = [
  /** A required header (`content-type`, `prom-relay-job`, `prom-relay-producer`) is absent or empty. */
  'PROM_RELAY_DECODE_MISSING_HEADER',
  /** A header has a value it cannot take (seq not a decimal integer, unknown op or temporality, bad grouping, not UTF-8,
   *  a control character in the job or a grouping value). */
  'PROM_RELAY_DECODE_HEADER',
  /** The content-type names no format the relay reads. */
  'PROM_RELAY_DECODE_CONTENT_TYPE',
  /** The content-encoding is neither absent, `identity` nor `snappy`. */
  'PROM_RELAY_DECODE_CONTENT_ENCODING',
  /** Text exposition that does not parse, or is not UTF-8; line and column set. */
  'PROM_RELAY_DECODE_TEXT',
  /** A label set beyond `limits` (labels per series, label value length), found while parsing; line and column set. */
  'PROM_RELAY_DECODE_LIMIT',
  /** A JSON line that does not parse or is not of the documented shape; line (and column where known) set. */
  'PROM_RELAY_DECODE_JSON',
  /** A Remote Write body that does not decode as protobuf. */
  'PROM_RELAY_DECODE_PROTOBUF',
  /** A snappy body that does not decompress. */
  'PROM_RELAY_DECODE_SNAPPY',
  /** The body, or what it decompresses to, is larger than allowed. */
  'PROM_RELAY_DECODE_TOO_LARGE',
  /** A label set that breaks the Prometheus rules (bad metric or label name, `__name__` missing). */
  'PROM_RELAY_DECODE_LABELS',
  /** Valid input the relay does not aggregate (gauge histograms, custom-bucket native histograms). */
  'PROM_RELAY_DECODE_UNSUPPORTED',
  /** A counter-like value (counter, histogram part, summary `_sum`/`_count`) that is NaN, infinite, negative or above 1e300. */
  'PROM_RELAY_DECODE_VALUE',
  /** One series twice in a text body (after the header labels override the body's), as Pushgateway refuses it. */
  'PROM_RELAY_DECODE_DUPLICATE',
] as const;

export type DecodeErrorCode = (typeof DECODE_ERROR_CODES)[number];

export interface DecodeErrorDetails {
  cause?: unknown;
  /** 1-based line in a text or JSON lines body. */
  line?: number;
  /** 1-based column in that line. */
  column?: number;
}

/** A message the relay cannot decode: it goes to the DLQ with `code` as the reason. */
export class DecodeError extends PromRelayError<DecodeErrorCode> {
  declare readonly line?: number;
  declare readonly column?: number;

  constructor(code: DecodeErrorCode, message: string, details: DecodeErrorDetails = {}) {
    super(code, message, 'cause' in details ? { cause: details.cause } : undefined);
    for (const key of ['line', 'column'] as const) {
      if (details[key] !== undefined) {
        Object.defineProperty(this, key, { value: details[key], enumerable: true, writable: false, configurable: true });
      }
    }
  }
}
