export { DeadLetterQueue } from './dead-letters.js';
export type { DeadLetterEvents, DeadLetterQueueOptions, SendContext, StalledPartition } from './dead-letters.js';
export { deadLetterMessage, messageBytes, DLQ_HEADERS } from './fit.js';
export type { DeadLetterReason, FittedDeadLetter } from './fit.js';
