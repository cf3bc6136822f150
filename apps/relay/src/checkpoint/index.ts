export { CHECKPOINT_SKIP_REASONS, CheckpointStore, flushTimeKey } from './store.js';
export type { CheckpointSkipReason, CheckpointStoreOptions, FlushTime, StoredCheckpoint } from './store.js';
export { checkpointKey, encodeCheckpoint, decodeCheckpoint, CHECKPOINT_HEADERS } from './encoding.js';
