export { CheckpointStore } from './store.js';
export type { CheckpointStoreOptions, StoredCheckpoint } from './store.js';
export { checkpointKey, encodeCheckpoint, decodeCheckpoint, CHECKPOINT_HEADERS } from './encoding.js';
