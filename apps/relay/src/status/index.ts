export { StatusRecorder, DEFAULT_MAX_JOBS, DEFAULT_MAX_PRODUCERS_PER_JOB, RECENT_DEAD_LETTERS, RECENT_FLUSHES, FLUSH_MINUTES, errorText } from './recorder.js';
export type { DeadLetterEntry, FlushEntry, FlushMinute, JobEntry, ProducerEntry, PushSeen, RecorderOptions } from './recorder.js';
export { buildSnapshot, mergeSnapshots, partitionStatus } from './snapshot.js';
export type { PartitionStatus, RelayRole, SnapshotInput, StatusSnapshot } from './snapshot.js';
export { escapeHtml, flushPlot, renderStatusPage } from './page.js';
