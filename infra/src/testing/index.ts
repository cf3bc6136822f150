import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { InfraError } from '../errors.js';
import { createKafkaTopic, type TopicOptions } from '../kafka/topics.js';
import type {} from './provided-context.js';

/** Bootstrap addresses of the broker the root vitest globalSetup started for this test run. */
export function testKafkaBrokers(): string[] {
  const brokers = inject('promRelayKafkaBrokers');
  if (!Array.isArray(brokers) || brokers.length === 0) {
    throw new InfraError(
      'PROM_RELAY_INFRA_NO_TEST_BROKER',
      'no test broker: the root vitest globalSetup (infra/src/testing/global-setup.ts) did not start one. Run vitest from the repository root (`npx vitest run --project relay`); it starts a broker when a selected project imports @prom-relay/infra/testing, unless PROM_RELAY_TEST_KAFKA=never',
    );
  }
  return brokers;
}

/** A topic name no other test in this run uses: `<prefix>-<random>`. */
export function testTopicName(prefix = 'test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Creates a uniquely named topic on the shared test broker and returns its name. */
export async function createTestTopic(options: TopicOptions & { prefix?: string } = {}): Promise<string> {
  const { prefix, ...topicOptions } = options;
  const name = testTopicName(prefix);
  await createKafkaTopic(testKafkaBrokers(), name, topicOptions);
  return name;
}
