export { createIngest } from './ingest.js';
export type { Ingest, IngestLogEntry, IngestMessage, IngestOptions } from './ingest.js';
export type { IngestAuth } from './auth.js';
export { INGEST_ERROR_CODES, IngestError } from './errors.js';
export type { IngestErrorCode } from './errors.js';
export { parsePushPath, pushProducerId } from './pushgateway.js';
export type { PushGroup } from './pushgateway.js';
export { metricFamiliesToText } from './metric-family-proto.js';
export { REMOTE_WRITE_PATHS } from './remote-write.js';
