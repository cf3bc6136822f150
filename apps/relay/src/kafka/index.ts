export { connectKafka, kafkaConfig, relayLevel } from './kafkajs.js';
export type { KafkaConnectionOptions } from './kafkajs.js';
export { InputTopics } from './input-topics.js';
export type { InputTopicsOptions } from './input-topics.js';
export { isRetriableKafkaError, isTooLarge, kafkaErrorType, rootMessage } from './errors.js';
export { retryWhileStarting, STARTUP_DEADLINE_MS } from './retry.js';
export type { StartupRetryOptions } from './retry.js';
export type {
  BatchContext,
  ConsumerHandlers,
  ConsumerOptions,
  HeaderValue,
  KafkaConnection,
  KafkaRecord,
  ProducedMessage,
  RecordBatch,
  RelayAdmin,
  RelayConsumer,
  RelayProducer,
  TopicPartition,
  TopicSpec,
} from './types.js';
