export { RelayMetrics } from './metrics.js';
export { startRelayServer } from './http.js';
export type { Readiness, RelayServer, RelayServerOptions } from './http.js';
