export { Emitter, createEmitter } from './emitter.js';
export type {
  CloseResult,
  DropEvent,
  DropReason,
  EmitTarget,
  EmitterEvents,
  EmitterLogEntry,
  EmitterStats,
  IntervalPush,
  MetricsRegistry,
  PushTarget,
} from './emitter.js';
export { EMITTER_ERROR_CODES, EmitterError } from './errors.js';
export { fixKafkajsIdleLoop } from './kafkajs-idle-loop.js';
export type { EmitterErrorCode } from './errors.js';
export {
  CONTENT_TYPE,
  DEFAULT_PRODUCER_LABELS,
  DEFAULT_TOPIC,
  HEADER,
  buildMessage,
  buildMessageHeaders,
  buildMessageKey,
  decodeGrouping,
  encodeGrouping,
  formatJsonLines,
  parseMessageHeaders,
  validateGroup,
} from './message.js';
export type { Grouping, JsonNumber, JsonSample, JsonSampleType, MessageMeta, MetricsMessage, PushOp, Temporality } from './message.js';
export { resolveEmitterOptions } from './options.js';
export type { DropPolicy, EmitterKafkaOptions, EmitterOptions, ResolvedEmitterOptions } from './options.js';
