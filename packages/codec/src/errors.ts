/** Base of every prom-relay error: callers branch on `code`, never on the message. */
export class PromRelayError<C extends string = string> extends Error {
  declare readonly code: C;
  declare readonly cause: unknown;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message);
    // Own enumerable fields so structured loggers print them.
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: true, writable: true, configurable: true });
    Object.defineProperty(this, 'code', { value: code, enumerable: true, writable: false, configurable: true });
    Object.defineProperty(this, 'message', { value: message, enumerable: true, writable: true, configurable: true });
    if (options && 'cause' in options) {
      Object.defineProperty(this, 'cause', { value: options.cause, enumerable: true, writable: false, configurable: true });
    }
  }
}

export const CODEC_ERROR_CODES = [
  /** The body ends inside a field, varint or length-delimited value. */
  'PROM_RELAY_CODEC_TRUNCATED',
  /** A protobuf tag carries a wire type that the field cannot have, or an unknown wire type. */
  'PROM_RELAY_CODEC_INVALID_WIRE_TYPE',
  /** A varint longer than 10 bytes, a length past the end, field number 0, an unknown enum. */
  'PROM_RELAY_CODEC_MALFORMED',
  /** A snappy block that is not valid (bad preamble, bad copy offset, length mismatch). */
  'PROM_RELAY_CODEC_SNAPPY',
  /** The declared decompressed size exceeds the caller's maxSize. */
  'PROM_RELAY_CODEC_TOO_LARGE',
  /** A text exposition line that does not parse; line and column are set. */
  'PROM_RELAY_CODEC_EXPOSITION',
  /** A text exposition label set beyond the caller's limits (labels per series, label value length); line and column set. */
  'PROM_RELAY_CODEC_LIMIT',
  /** Label set rules broken: invalid or empty name, duplicate name, missing __name__, bad value. */
  'PROM_RELAY_CODEC_LABELS',
  /** A RW 2.0 reference outside the symbols table, or an odd labels_refs length. */
  'PROM_RELAY_CODEC_SYMBOL_REF',
  /** Input to an encoder is not of the documented shape (e.g. a label value that is not a string). */
  'PROM_RELAY_CODEC_INVALID_INPUT',
] as const;

export type CodecErrorCode = (typeof CODEC_ERROR_CODES)[number];

export interface CodecErrorDetails {
  cause?: unknown;
  /** Byte offset in the (decompressed) body where decoding failed. */
  offset?: number;
  /** 1-based line of text exposition input. */
  line?: number;
  /** 1-based column of text exposition input. */
  column?: number;
}

/** Every failure of the codec: bad bytes, bad text, bad labels. */
export class CodecError extends PromRelayError<CodecErrorCode> {
  declare readonly offset?: number;
  declare readonly line?: number;
  declare readonly column?: number;

  constructor(code: CodecErrorCode, message: string, details: CodecErrorDetails = {}) {
    super(code, message, 'cause' in details ? { cause: details.cause } : undefined);
    for (const key of ['offset', 'line', 'column'] as const) {
      if (details[key] !== undefined) {
        Object.defineProperty(this, key, { value: details[key], enumerable: true, writable: false, configurable: true });
      }
    }
  }
}
