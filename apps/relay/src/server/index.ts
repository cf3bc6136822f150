export { RelayMetrics } from './metrics.js';
export { serverConnectionOptions, startRelayServer } from './http.js';
export { DEFAULT_HTTP_LIMITS } from './connections.js';
export type { HttpConnectionEvents, HttpConnectionLimits, HttpTimeoutKind } from './connections.js';
export type { Readiness, RelayServer, RelayServerOptions } from './http.js';
