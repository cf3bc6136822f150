// A fatal error as the fields of one JSON log line: its code and message (the innermost cause's too), never a
// multi-line dump; the stack only for errors the relay did not anticipate (a bug), where it is what helps.
import { PromRelayError } from '@prom-relay/codec';
import { kafkaErrorType, rootMessage } from '../kafka/errors.js';

export function fatalFields(err: unknown): Record<string, unknown> {
  const message = err instanceof Error ? err.message : String(err);
  const fields: Record<string, unknown> = { error: message };
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') fields.code = code;
  const cause = rootMessage(err);
  if (cause !== message && !message.includes(cause)) fields.cause = cause;
  const kafkaType = kafkaErrorType(err);
  if (kafkaType) fields.kafka_error = kafkaType;
  if (!(err instanceof PromRelayError) && err instanceof Error && err.stack) fields.stack = err.stack;
  return fields;
}
