// Shared by the ingest regression tests: raw HTTP requests, the consumer's view of what reached Kafka, a relay with
// a real Prometheus behind it, and the relay's own counters.
import { request } from 'node:http';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { startPrometheus, type PrometheusServer } from '@prom-relay/infra';
import { DecodeError, decodeRecord, type DecodeOptions } from '../../src/decode/index.js';
import type { IngestBatch } from '../../src/model.js';
import { startRelayProcess, stopRelay, writeRelayConfig, type RelayProcess } from '../e2e/harness.js';
import { readUntil, type ReadMessage } from '../ingest/kafka-read.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export function send(baseUrl: string, method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const TEXT = { 'content-type': 'text/plain; version=0.0.4' };
export const RW1 = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
export const RW2 = {
  'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '2.0.0',
};

/** What the relay's consumer makes of a message read back from Kafka: its batch, or the DecodeError it dead-letters with. */
export function consumerView(m: ReadMessage): IngestBatch | DecodeError {
  const headers: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(m.headers)) headers[k] = Buffer.from(v, 'utf8');
  try {
    return decodeRecord({ topic: 'read-back', partition: m.partition, offset: m.offset, key: Buffer.from(m.key), value: m.value, headers });
  } catch (err) {
    if (err instanceof DecodeError) return err;
    throw err;
  }
}

/** Every message of a topic (known count), read from the beginning. */
export function readAll(topic: string, count: number, timeoutMs = 30_000): Promise<ReadMessage[]> {
  return readUntil(testKafkaBrokers(), topic, (all) => all.length >= count, timeoutMs);
}

export interface RelayWithProm {
  relay: RelayProcess;
  prom: PrometheusServer;
  topic: string;
  dlqTopic: string;
  stop(): Promise<void>;
}

/** A relay (child process, ingest on, no auth) consuming a fresh topic and writing to a fresh Prometheus. */
export async function relayWithProm(prefix: string): Promise<RelayWithProm> {
  const prom = await startPrometheus();
  const topic = await createTestTopic({ prefix, partitions: 2 });
  const dlqTopic = testTopicName(`${prefix}-dlq`);
  const config = writeRelayConfig({
    brokers: testKafkaBrokers(),
    topic,
    groupId: testTopicName(`${prefix}-group`),
    dlqTopic,
    checkpointTopic: testTopicName(`${prefix}-ckpt`),
    remoteWriteUrl: prom.remoteWriteUrl,
  });
  let relay: RelayProcess;
  try {
    relay = await startRelayProcess(config);
    await relay.waitForLog((l) => l.msg === 'partition restored', 60_000);
  } catch (err) {
    await prom.stop();
    throw err;
  }
  return {
    relay,
    prom,
    topic,
    dlqTopic,
    async stop() {
      if (relay.child.exitCode === null) await stopRelay(relay);
      await prom.stop();
    },
  };
}

/** The value of one counter of the relay's /metrics with exactly these labels (0 when absent). */
export async function relayCounter(baseUrl: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const body = line.slice(name.length + 1, close);
    const got: Record<string, string> = {};
    for (const m of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[m[1]!] = m[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(close + 1).trim());
  }
  return 0;
}

/**
 * What the consumer decodes from the message the ingest writes for a Remote Write request of job `agent` from
 * instance node-1:9100 (`body`: the request's protobuf, snappy-compressed), at `offset`.
 */
export function agentRemoteWrite(body: Buffer, offset: number, decode: DecodeOptions = {}): IngestBatch {
  return decodeRecord(
    {
      topic: 't',
      partition: 0,
      offset: String(offset),
      key: Buffer.from('job=agent,instance=node-1:9100'),
      value: body,
      headers: {
        'content-type': Buffer.from('application/x-protobuf'),
        'content-encoding': Buffer.from('snappy'),
        'prom-relay-job': Buffer.from('agent'),
        'prom-relay-grouping': Buffer.from('instance=node-1:9100'),
        'prom-relay-producer': Buffer.from('remote-write/job=agent&instance=node-1:9100'),
      },
    },
    decode,
  );
}
