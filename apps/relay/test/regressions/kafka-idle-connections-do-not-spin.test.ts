// kafkajs 2.2.4 re-arms a 1 ms timer on every connection that has had an answer, forever, even with nothing to send
// (packages/emitter/src/kafkajs-idle-loop.ts). In the relay, whose producer and admin connections enforce request
// timeouts, that was 2% of a core per idle process (measured with bench/peers-http.ts's relay ingest: 2.0% -> 0.6%)
// and one timer per event-loop turn under load. The relay's connections now skip the check while nothing is pending.
// Counted, not timed: how often kafkajs checks an idle queue over half a second (about 500 per connection before).
import { createRequire } from 'node:module';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { connectKafka } from '../../src/kafka/index.js';

const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as { prototype: { checkPendingRequests(): void } };

it("the relay's idle Kafka connections do not wake every millisecond", async () => {
  const topic = await createTestTopic({ prefix: 'idle-loop', partitions: 1 });
  const connection = connectKafka({ brokers: testKafkaBrokers(), clientId: 'idle-loop-test' });
  const producer = await connection.producer();
  const admin = await connection.admin();
  const original = RequestQueue.prototype.checkPendingRequests;
  let checks = 0;
  RequestQueue.prototype.checkPendingRequests = function counted(this: unknown) {
    checks++;
    return original.call(this);
  };
  try {
    // Both connections have had answers (the bug starts with the first response); then nothing is sent.
    await producer.send(topic, [{ key: 'k', value: Buffer.from('v'), headers: {} }]);
    await admin.highWatermarks(topic);
    await new Promise((r) => setTimeout(r, 100));
    checks = 0;
    await new Promise((r) => setTimeout(r, 500));
    // Without the fix: hundreds (one per millisecond per connection that answered).
    expect(checks).toBeLessThan(20);
    // And the connection still works after idling.
    await producer.send(topic, [{ key: 'k', value: Buffer.from('again'), headers: {} }]);
    expect(Number([...(await admin.highWatermarks(topic)).values()][0])).toBe(2);
  } finally {
    RequestQueue.prototype.checkPendingRequests = original;
    await producer.disconnect();
    await admin.disconnect();
  }
}, 60_000);
