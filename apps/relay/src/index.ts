// @prom-relay/relay: the service (bin `prom-relay`) and its stages, for embedding and tests.
export { startRelay, startIngest, startAggregator, aggregateOptions } from './pipeline.js';
export type { Relay, RelayRole } from './pipeline.js';
export { renderStatusPage, StatusRecorder } from './status/index.js';
export type { StatusSnapshot } from './status/index.js';
export { main } from './cli.js';
export type { CliIo } from './cli.js';
export { loadConfig, maskConfig, formatConfig, parseDuration, relayConfigSchema, ENV_PREFIX } from './config/index.js';
export type { RelayConfig, RelayConfigInput, LoadConfigOptions, AggregationRuleConfig } from './config/index.js';
export { connectKafka } from './kafka/index.js';
export type {
  KafkaConnection,
  KafkaConnectionOptions,
  KafkaRecord,
  RecordBatch,
  RelayAdmin,
  RelayConsumer,
  RelayProducer,
  TopicPartition,
} from './kafka/index.js';
export { KafkaSource, OwnedPartition } from './source/index.js';
export type { PartitionState, PartitionStateFactory, RecordDecoder } from './source/index.js';
export { DeadLetterQueue, deadLetterMessage, DLQ_HEADERS } from './dlq/index.js';
export type { DeadLetterReason } from './dlq/index.js';
export { CheckpointStore, checkpointKey, encodeCheckpoint, decodeCheckpoint, CHECKPOINT_HEADERS } from './checkpoint/index.js';
export type { StoredCheckpoint } from './checkpoint/index.js';
export { Flusher } from './flush/index.js';
export type { FlushResult, FlushStatus, RemoteWriteSink } from './flush/index.js';
export { RelayMetrics, startRelayServer } from './server/index.js';
export type { Readiness, RelayServer } from './server/index.js';
export { ConfigError, CheckpointError, KafkaError, CONFIG_ERROR_CODES, CHECKPOINT_ERROR_CODES, KAFKA_ERROR_CODES } from './errors.js';
export type { ConfigErrorCode, ConfigIssue, CheckpointErrorCode, KafkaErrorCode } from './errors.js';
export { PartitionAggregate } from './aggregate/index.js';
export type { AggregateOptions, AggregationRule } from './aggregate/index.js';
export { decodeRecord, DecodeError } from './decode/index.js';
export { createIngest } from './ingest/index.js';
export type {
  Checkpoint,
  IngestBatch,
  InputPoint,
  InputMetricType,
  OutputSample,
  PushOp,
  SourcePosition,
  Temporality,
} from './model.js';
