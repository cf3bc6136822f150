// What a Kafka client error means for the relay: retry it, shrink the message, or give up.
// Read from the error's shape (kafkajs sets `type`, `retriable`, `name`, `cause`), so no kafkajs import here.

/** Protocol errors kafkajs marks non-retriable that are only a passing state of a starting or rebalancing cluster. */
const PASSING_STATES = new Set(['REBALANCE_IN_PROGRESS', 'NOT_CONTROLLER', 'TOPIC_ALREADY_EXISTS']);

const TOO_LARGE = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);

interface ErrorShape {
  name?: unknown;
  type?: unknown;
  retriable?: unknown;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown;
  message?: unknown;
}

/** The error and every error it wraps (cause, kafkajs originalError, aggregate members), outermost first. */
export function errorChain(err: unknown): ErrorShape[] {
  const out: ErrorShape[] = [];
  const seen = new Set<unknown>();
  const walk = (e: unknown): void => {
    if (typeof e !== 'object' || e === null || seen.has(e) || out.length > 20) return;
    seen.add(e);
    const shape = e as ErrorShape;
    out.push(shape);
    walk(shape.cause);
    walk(shape.originalError);
    if (Array.isArray(shape.errors)) for (const inner of shape.errors) walk(inner);
  };
  walk(err);
  return out;
}

/** The Kafka protocol error type (`MESSAGE_TOO_LARGE`, `UNKNOWN_TOPIC_OR_PARTITION`, …) innermost in the chain. */
export function kafkaErrorType(err: unknown): string | undefined {
  const types = errorChain(err).flatMap((e) => (typeof e.type === 'string' ? [e.type] : []));
  return types.at(-1);
}

/** True when the broker refused the record for its size. */
export function isTooLarge(err: unknown): boolean {
  return errorChain(err).some((e) => typeof e.type === 'string' && TOO_LARGE.has(e.type));
}

/**
 * True when waiting can cure it: a protocol error marked retriable (leader or coordinator not there yet, topic
 * metadata not propagated), a passing cluster state, a request timeout. Connection failures are not: kafkajs
 * already retried them, and a broker that cannot be reached at all is an operator's matter.
 */
export function isRetriableKafkaError(err: unknown): boolean {
  const chain = errorChain(err);
  if (chain.some((e) => typeof e.type === 'string' && TOO_LARGE.has(e.type))) return false;
  for (const e of chain) {
    if (typeof e.type === 'string') {
      if (PASSING_STATES.has(e.type) || e.retriable === true) return true;
      return false;
    }
    if (e.name === 'KafkaJSTimeout' || e.name === 'KafkaJSRequestTimeoutError') return true;
    if (typeof e.message === 'string' && /waiting for topic leaders/i.test(e.message)) return true;
  }
  return false;
}

/** The innermost message of the chain: `This server does not host this topic-partition` rather than a wrapper's. */
export function rootMessage(err: unknown): string {
  const messages = errorChain(err).flatMap((e) => (typeof e.message === 'string' && e.message !== '' ? [e.message] : []));
  return messages.at(-1) ?? String(err);
}
