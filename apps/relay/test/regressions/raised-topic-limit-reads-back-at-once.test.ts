import { testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkajsAdmin } from '../../src/kafka/kafkajs.js';

// With KRaft, AlterConfigs answers once the controller holds the change; the broker applies it from its metadata log a
// moment later. ensureTopic returned before that, so a checkpoint bigger than the old limit could be produced into a
// topic that still refused it, and CI once read the old max.message.bytes right after a raise (topics.test.ts). On a
// quiet machine the window is too short to hit, so the broker's lag is played here: a real Kafka, whose describeConfigs
// answers go through a wrapper that keeps giving the value from before the raise for a few reads.
const brokers = testKafkaBrokers();
const raw = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();

beforeAll(() => raw.connect());
afterAll(() => raw.disconnect());

/** The admin, with describeConfigs answering what it answered before the last alterConfigs for `staleReads` reads. */
function lagging(admin: Admin, staleReads: number): { admin: Admin; staleLeft: () => number } {
  let before: Awaited<ReturnType<Admin['describeConfigs']>> | undefined;
  let left = 0;
  const wrapped: Admin = Object.create(admin);
  wrapped.describeConfigs = async (req) => {
    const fresh = await admin.describeConfigs(req);
    if (left > 0 && before) {
      left--;
      return before;
    }
    before = fresh;
    return fresh;
  };
  wrapped.alterConfigs = async (req) => {
    await admin.alterConfigs(req);
    left = staleReads;
  };
  return { admin: wrapped, staleLeft: () => left };
}

describe('raising a topic limit', () => {
  it('returns only once max.message.bytes reads back raised, however many reads the broker lags', async () => {
    for (const staleReads of [1, 4]) {
      const name = testTopicName('raise');
      const { admin, staleLeft } = lagging(raw, staleReads);
      const relayAdmin = new KafkajsAdmin(admin, brokers.join(','), undefined);
      await relayAdmin.ensureTopic(name, { partitions: 1, compacted: true, maxMessageBytes: 1 << 20 });
      expect(await relayAdmin.maxMessageBytes(name)).toBe(1 << 20);

      await relayAdmin.ensureTopic(name, { maxMessageBytes: 3 << 20 });
      expect(staleLeft()).toBe(0);
      expect(await relayAdmin.maxMessageBytes(name)).toBe(3 << 20);
    }
  }, 60_000);
});
