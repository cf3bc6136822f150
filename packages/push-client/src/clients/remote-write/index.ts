export { RemoteWriteClient } from './remote-write-client.js';
export { REMOTE_WRITE_PROTOCOL_HEADERS } from './options.js';
export type { RemoteWriteOptions, RegistryLike } from './options.js';
export type {
  DrainResult,
  FallbackReason,
  LabelPair,
  ProtocolFallback,
  RejectedSeries,
  RemoteWriteStats,
  WriteCounts,
  WriteOptions,
  WriteResult,
  WriteSeries,
  WriteStream,
} from './types.js';
