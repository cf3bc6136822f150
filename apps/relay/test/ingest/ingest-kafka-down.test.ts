// The broker dies under the ingest: pushes answer 503 (never 2xx without an ack), and 200 again once it is back.
import { startKafka } from '@prom-relay/infra';
import type { KafkaServer } from '@prom-relay/infra';
import { afterAll, describe, expect, it } from 'vitest';
import { connectKafka } from '../../src/kafka/index.js';
import type { RelayProducer } from '../../src/kafka/index.js';
import { topicMessageCount } from './kafka-read.js';
import { serveIngest } from './serve.js';
import type { ServedIngest } from './serve.js';

let kafka: KafkaServer | undefined;
let producer: RelayProducer | undefined;
let served: ServedIngest | undefined;
afterAll(async () => {
  await served?.close();
  await producer?.disconnect().catch(() => undefined);
  await kafka?.stop();
});

describe('ingest with Kafka unreachable', () => {
  it('answers 503 while the broker is down and 200 after it restarted', async () => {
    kafka = await startKafka();
    await kafka.createTopic('metrics');
    producer = await connectKafka({ brokers: kafka.brokers, clientId: 'ingest-down-test', connectionTimeout: 500, requestTimeout: 2000 }).producer();
    const topic = 'metrics';
    served = await serveIngest({ send: (m) => producer!.send(topic, m), sendTimeoutMs: 3000 });
    const put = (n: number) => fetch(`${served!.url}/metrics/job/j/instance/i`, { method: 'PUT', body: `rows_total ${n}\n` });

    expect((await put(1)).status).toBe(200);
    await kafka.kill();
    const t0 = Date.now();
    const down = await put(2);
    expect(down.status).toBe(503);
    expect(Date.now() - t0).toBeLessThan(6000);
    expect(await down.text()).toMatch(/^PROM_RELAY_INGEST_UNAVAILABLE: Kafka did not acknowledge/);

    await kafka.restart();
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      status = (await put(3)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(status).toBe(200);
    // the acknowledged pushes are in the topic; the 503 one may or may not be (the producer kept retrying it)
    expect(await topicMessageCount(kafka.brokers, topic)).toBeGreaterThanOrEqual(2);
  }, 180_000);
});
