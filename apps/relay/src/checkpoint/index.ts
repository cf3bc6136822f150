export { CheckpointStore, flushTimeKey } from './store.js';
export type { CheckpointStoreOptions, FlushTime, StoredCheckpoint } from './store.js';
export { checkpointKey, encodeCheckpoint, decodeCheckpoint, CHECKPOINT_HEADERS } from './encoding.js';
