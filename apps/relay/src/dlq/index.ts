export { DeadLetterQueue, deadLetterMessage, DLQ_HEADERS } from './dead-letters.js';
export type { DeadLetterReason } from './dead-letters.js';
