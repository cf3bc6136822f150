export { decodeRecord, DEFAULT_MAX_MESSAGE_BYTES } from './record.js';
export type { DecodeOptions, KafkaRecord } from './record.js';
export { DecodeError, DECODE_ERROR_CODES } from './errors.js';
export type { DecodeErrorCode, DecodeErrorDetails } from './errors.js';
export { HEADERS, headerString, parseContentType, parseGrouping, parseHeaders } from './headers.js';
export type { BodyFormat, HeaderValue, MessageHeaders, RecordHeaders } from './headers.js';
export { decodeExpositionText } from './text.js';
export { decodeJsonLines } from './json-lines.js';
export { decodeRemoteWrite } from './remote-write.js';
