// The relay's error catalogue outside decode/aggregate/ingest: one code tuple per area.
import { PromRelayError } from '@prom-relay/codec';

export const CONFIG_ERROR_CODES = [
  /** The config file cannot be read or is not YAML. */
  'PROM_RELAY_CONFIG_FILE',
  /** One or more keys are invalid; `issues` names each key path. */
  'PROM_RELAY_CONFIG_INVALID',
  /** A `*_file` secret cannot be read. */
  'PROM_RELAY_CONFIG_SECRET_FILE',
] as const;
export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

export interface ConfigIssue {
  /** dotted key path, e.g. `remote_write.url` */
  path: string;
  message: string;
  /** where the value came from: the file or an env variable name */
  source?: string;
}

export class ConfigError extends PromRelayError<ConfigErrorCode> {
  declare readonly issues: ConfigIssue[];

  constructor(code: ConfigErrorCode, message: string, issues: ConfigIssue[] = [], options?: { cause?: unknown }) {
    super(code, message, options);
    Object.defineProperty(this, 'issues', { value: issues, enumerable: true, writable: false, configurable: true });
  }
}

export const CHECKPOINT_ERROR_CODES = [
  /** A checkpoint message does not parse or has an unknown version. */
  'PROM_RELAY_CHECKPOINT_CORRUPT',
  /** The serialised checkpoint exceeds the topic's max.message.bytes. */
  'PROM_RELAY_CHECKPOINT_TOO_LARGE',
  /** Reading the checkpoint topic did not reach its end before the deadline. */
  'PROM_RELAY_CHECKPOINT_RESTORE_TIMEOUT',
] as const;
export type CheckpointErrorCode = (typeof CHECKPOINT_ERROR_CODES)[number];

export class CheckpointError extends PromRelayError<CheckpointErrorCode> {}

export const KAFKA_ERROR_CODES = [
  /** A topic the relay needs could not be created or described. */
  'PROM_RELAY_KAFKA_TOPIC',
  /** The broker refused or timed out a produce with acks -1. */
  'PROM_RELAY_KAFKA_PRODUCE',
  /** Connecting, joining the group or fetching failed. */
  'PROM_RELAY_KAFKA_CONSUME',
] as const;
export type KafkaErrorCode = (typeof KAFKA_ERROR_CODES)[number];

export class KafkaError extends PromRelayError<KafkaErrorCode> {}
