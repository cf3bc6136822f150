import { describe, expect, it } from 'vitest';
import { isRetriableKafkaError, isTooLarge, kafkaErrorType, relayLevel, retryWhileStarting, rootMessage } from '../../src/kafka/index.js';
import { KafkaError } from '../../src/errors.js';

// The shapes kafkajs throws (KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded, KafkaJSConnectionError).
const protocol = (type: string, retriable: boolean, message: string) => Object.assign(new Error(message), { name: 'KafkaJSProtocolError', type, retriable });
const exhausted = (cause: Error) => Object.assign(new Error(cause.message), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false, cause });
const wrapped = (cause: Error) => new KafkaError('PROM_RELAY_KAFKA_TOPIC', `cannot create topic t: ${cause.message}`, { cause });

describe('Kafka error classification', () => {
  it('retries "not yet" answers of a starting cluster, wrapped or not', () => {
    const unknown = protocol('UNKNOWN_TOPIC_OR_PARTITION', true, 'This server does not host this topic-partition');
    expect(isRetriableKafkaError(unknown)).toBe(true);
    expect(isRetriableKafkaError(wrapped(exhausted(unknown)))).toBe(true);
    expect(isRetriableKafkaError(protocol('REBALANCE_IN_PROGRESS', false, 'The group is rebalancing'))).toBe(true);
    expect(kafkaErrorType(wrapped(exhausted(unknown)))).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect(rootMessage(wrapped(exhausted(unknown)))).toBe('This server does not host this topic-partition');
  });

  it('does not retry refusals, size errors or an unreachable broker', () => {
    expect(isRetriableKafkaError(protocol('TOPIC_AUTHORIZATION_FAILED', false, 'Not authorized'))).toBe(false);
    const tooLarge = protocol('MESSAGE_TOO_LARGE', false, 'The request included a message larger than the max message size the server will accept');
    expect(isRetriableKafkaError(tooLarge)).toBe(false);
    expect(isTooLarge(new KafkaError('PROM_RELAY_KAFKA_PRODUCE', 'x', { cause: tooLarge }))).toBe(true);
    const refused = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSConnectionError', retriable: true });
    expect(isRetriableKafkaError(exhausted(refused))).toBe(false);
  });

  it('retryWhileStarting retries retriable errors until they pass, and throws others at once', async () => {
    let calls = 0;
    const value = await retryWhileStarting(
      'test',
      async () => {
        if (++calls < 3) throw protocol('LEADER_NOT_AVAILABLE', true, 'There is no leader for this topic-partition');
        return 'ok';
      },
      { minBackoffMs: 1 },
    );
    expect([value, calls]).toEqual(['ok', 3]);
    calls = 0;
    const refusal = protocol('TOPIC_AUTHORIZATION_FAILED', false, 'Not authorized');
    await expect(
      retryWhileStarting(
        'test',
        async () => {
          calls++;
          throw refusal;
        },
        { minBackoffMs: 1 },
      ),
    ).rejects.toBe(refusal);
    expect(calls).toBe(1);
    await expect(
      retryWhileStarting('test', () => Promise.reject(protocol('LEADER_NOT_AVAILABLE', true, 'no leader')), { minBackoffMs: 5, deadlineMs: 30 }),
    ).rejects.toMatchObject({ type: 'LEADER_NOT_AVAILABLE' });
  });
});

describe('kafkajs log levels in the relay log', () => {
  const ERROR = 1;
  const WARN = 2;
  it('logs routine start-up answers below warn', () => {
    expect(relayLevel(ERROR, 'Response GroupCoordinator(key: 10, version: 2)', { error: 'The group coordinator is not available' })).toBe('debug');
    expect(relayLevel(ERROR, 'Response InitProducerId(key: 22, version: 1)', { error: "The coordinator is loading and hence can't process requests for this group" })).toBe('debug');
    expect(relayLevel(ERROR, 'Response Metadata(key: 3, version: 6)', { error: 'This server does not host this topic-partition' })).toBe('debug');
    expect(relayLevel(WARN, 'The group is rebalancing, re-joining', {})).toBe('debug');
    expect(relayLevel(WARN, 'Limiting retries for the idempotent producer may invalidate EoS guarantees', {})).toBe('debug');
    expect(relayLevel(ERROR, 'Response CreateTopics(key: 19, version: 3)', { error: 'Topic creation errors' })).toBe('debug');
    expect(relayLevel(ERROR, 'Response ListOffsets(key: 2, version: 3)', { error: 'This server is not the leader for that topic-partition' })).toBe('debug');
    expect(relayLevel(ERROR, "Crash: KafkaJSProtocolError: The coordinator is loading and hence can't process requests for this group", {})).toBe('info');
  });

  it('keeps real errors as errors', () => {
    expect(relayLevel(ERROR, 'Response Produce(key: 0, version: 7)', { error: 'Not authorized to access topics: [Topic authorization failed]' })).toBe('error');
    expect(relayLevel(ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:1', { broker: '127.0.0.1:1' })).toBe('error');
    expect(relayLevel(ERROR, 'Crash: KafkaJSNonRetriableError: Not authorized', {})).toBe('error');
  });
});
