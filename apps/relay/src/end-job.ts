// `prom-relay end-job --config relay.yaml <job>`: ends a job's totals now, as `DELETE /metrics/job/<job>` does: one
// `op: delete` message without grouping labels on every partition of every input topic (docs/message-format.md,
// "Ending a job"). The aggregators apply it where it lands; nothing else is needed.
import { CONTENT_TYPE, buildMessage } from '@prom-relay/emitter';
import type { Logger } from 'pino';
import type { RelayConfig } from './config/index.js';
import { controlCharacter } from './decode/index.js';
import { connectKafka } from './kafka/index.js';

export interface EndJobResult {
  /** messages produced, per topic */
  partitions: Record<string, number>;
}

/** Produces the whole-job delete of `job` to every partition of the relay's input topics; resolves once acknowledged. */
export async function endJob(config: RelayConfig, job: string, logger: Logger): Promise<EndJobResult> {
  if (job === '' || controlCharacter(job) !== undefined) throw new Error(`job name ${JSON.stringify(job)} is empty or holds a control character`);
  const k = config.kafka;
  const connection = connectKafka({
    brokers: k.brokers,
    clientId: k.client_id,
    connectionTimeout: k.connection_timeout,
    requestTimeout: k.request_timeout,
    logger: logger.child({ stage: 'kafka' }),
    ssl: { enabled: k.ssl.enabled, caFile: k.ssl.ca_file, certFile: k.ssl.cert_file, keyFile: k.ssl.key_file, rejectUnauthorized: k.ssl.reject_unauthorized },
    ...(k.sasl ? { sasl: { mechanism: k.sasl.mechanism, username: k.sasl.username, password: k.sasl.password ?? '' } } : {}),
  });
  const admin = await connection.admin();
  const producer = await connection.producer().catch(async (err: unknown) => {
    await admin.disconnect();
    throw err;
  });
  try {
    const message = buildMessage(
      { contentType: CONTENT_TYPE.text, job, grouping: {}, producerId: `prom-relay-end-job/job=${encodeURIComponent(job)}`, op: 'delete' },
      Buffer.alloc(0),
    );
    const result: EndJobResult = { partitions: {} };
    for (const topic of new Set([...k.topics, ...(config.ingest.topic ? [config.ingest.topic] : [])])) {
      const n = (await admin.highWatermarks(topic)).size;
      if (n === 0) throw new Error(`topic ${topic} has no partitions (does it exist?)`);
      await producer.send(topic, Array.from({ length: n }, (_, partition) => ({ ...message, partition })));
      result.partitions[topic] = n;
    }
    return result;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
