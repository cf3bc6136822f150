// Reads messages back from a topic with a plain kafkajs consumer (an independent reader of what the emitter wrote).
import { Kafka, logLevel } from 'kafkajs';

export interface ReadMessage {
  partition: number;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export async function readMessages(brokers: string[], topic: string, count: number, timeoutMs = 20_000): Promise<ReadMessage[]> {
  const kafka = new Kafka({ clientId: 'emitter-test-reader', brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Math.random().toString(36).slice(2)}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: ReadMessage[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${count} messages from ${topic} before the deadline`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(Array.isArray(v) ? v[0] : v);
          out.push({ partition, key: message.key?.toString() ?? '', value: message.value ?? Buffer.alloc(0), headers });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
