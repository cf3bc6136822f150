export { connectKafka, kafkaConfig } from './kafkajs.js';
export type { KafkaConnectionOptions } from './kafkajs.js';
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
