export { Flusher, SAMPLES_FAILED_REASONS } from './flusher.js';
export type { FlushResult, FlushStatus, FlusherOptions, RemoteWriteOutcome, RemoteWriteSink, SamplesFailedReason } from './flusher.js';
