import { PromRelayError } from '@prom-relay/codec';

export const EMITTER_ERROR_CODES = [
  /** createEmitter options are not of the documented shape; the message names the field. */
  'PROM_RELAY_EMITTER_OPTIONS',
  /** An empty job, a bad grouping label name, or a `job` grouping label. */
  'PROM_RELAY_EMITTER_GROUPING',
  /** A JSON sample with a bad name, type, label or value. */
  'PROM_RELAY_EMITTER_SAMPLE',
  /** registry.metrics() threw or rejected while taking a snapshot. */
  'PROM_RELAY_EMITTER_SNAPSHOT',
  /** Connecting to Kafka failed (the queue keeps the messages until the drop policy drops them). */
  'PROM_RELAY_EMITTER_CONNECT',
  /** Kafka did not acknowledge a batch. */
  'PROM_RELAY_EMITTER_SEND',
  /** push()/emit() after close(). */
  'PROM_RELAY_EMITTER_CLOSED',
  /** A message header is missing or malformed (parseMessageHeaders). */
  'PROM_RELAY_EMITTER_HEADER',
] as const;

export type EmitterErrorCode = (typeof EMITTER_ERROR_CODES)[number];

export class EmitterError extends PromRelayError<EmitterErrorCode> {}
