export { KafkaSource } from './source.js';
export type { KafkaSourceOptions, RecordDecoder, SourceEvents } from './source.js';
export { OwnedPartition, partitionKey } from './partitions.js';
export type { PartitionState, PartitionStateFactory } from './partitions.js';
