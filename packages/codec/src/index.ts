export { PromRelayError, CodecError, CODEC_ERROR_CODES } from './errors.js';
export type { CodecErrorCode, CodecErrorDetails } from './errors.js';
export type {
  Labels,
  Sample,
  Exemplar,
  BucketSpan,
  Histogram,
  HistogramResetHint,
  TimeSeries,
  MetricType,
  MetricMetadata,
  WriteRequest,
  DecompressOptions,
} from './types.js';
export { encodeWriteRequest, decodeWriteRequest, encodeWriteRequestSnappy, decodeWriteRequestSnappy } from './remote-write/v1.js';
export {
  encodeWriteRequestV2,
  decodeWriteRequestV2,
  encodeWriteRequestV2Snappy,
  decodeWriteRequestV2Snappy,
} from './remote-write/v2.js';
export { compress, decompress, decompressedLength, DEFAULT_MAX_DECOMPRESSED_SIZE } from './snappy.js';
export { parseExposition, parseFloatToken } from './exposition/parse.js';
export { formatExposition, formatValue } from './exposition/format.js';
export type { ExpositionLimits, ExpositionSample, ExpositionType, MetricFamily, ParseExpositionOptions } from './exposition/types.js';
export {
  sortLabels,
  validateLabels,
  dropEmptyLabelValues,
  isValidMetricName,
  isValidLabelName,
  setLabel,
} from './labels.js';
export { STALE_NAN_BITS, float64Words } from './stale.js';
