export { Flusher } from './flusher.js';
export type { FlushResult, FlushStatus, FlusherOptions, RemoteWriteOutcome, RemoteWriteSink } from './flusher.js';
