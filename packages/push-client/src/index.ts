export { RemoteWriteClient, REMOTE_WRITE_PROTOCOL_HEADERS } from './clients/remote-write/index.js';
export type {
  DrainResult,
  FallbackReason,
  LabelPair,
  ProtocolFallback,
  RegistryLike,
  RejectedSeries,
  RemoteWriteOptions,
  RemoteWriteStats,
  WriteCounts,
  WriteOptions,
  WriteResult,
  WriteSeries,
  WriteStream,
} from './clients/remote-write/index.js';
export {
  PushgatewayClient,
  PushgatewayClient as Pushgateway,
  TEXT_FORMAT_CONTENT_TYPE,
  encodeGroupingSegment,
  groupingPath,
} from './clients/pushgateway/index.js';
export type { Collector, PushgatewayOptions, PushResult, WarningLogger } from './clients/pushgateway/index.js';
export { HttpTransport } from './transport/http-transport.js';
export type { HttpTransportOptions } from './transport/http-transport.js';
export { RetryingTransport } from './transport/retrying-transport.js';
export type { RetryObserver, RetryPolicy } from './transport/retrying-transport.js';
export { parseRetryAfter } from './transport/retry-after.js';
export type { HttpMethod, SendOptions, Transport, TransportRequest, TransportResult } from './transport/types.js';
export { PushClientError, PUSH_ERROR_CODES } from './errors.js';
export type { PushErrorCode, PushErrorDetails } from './errors.js';
export { PUSH_CLIENT_VERSION, USER_AGENT } from './version.js';
