// Guards issue 10 item 6: on a just-started broker the relay exited 1 about one start in four ("This server does not
// host this topic-partition" while creating its topics), and always when its input topic did not exist yet; a fatal
// error was a multi-line dump, and kafkajs's routine start-up answers (coordinator loading) were logged as errors.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, startKafka, startPrometheus, type KafkaServer, type PrometheusServer } from '@prom-relay/infra';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  jobPush,
  kafkaProducer,
  Ledger,
  newRun,
  settledTotals,
  startRelayProcess,
  stopRelay,
  writeRelayConfig,
  type RelayProcess,
} from '../e2e/harness.js';

let kafka: KafkaServer;
let prom: PrometheusServer;
const relays: RelayProcess[] = [];

beforeAll(async () => {
  // A broker of its own, started now: the relay meets it as fresh as a quick start would.
  [kafka, prom] = await Promise.all([startKafka(), startPrometheus()]);
}, 120_000);

afterAll(async () => {
  for (const r of relays) await stopRelay(r).catch(() => undefined);
  await Promise.all([kafka?.stop(), prom?.stop()]);
});

async function pushAndSettle(topic: string, job: string): Promise<void> {
  const { producer, connect } = kafkaProducer(kafka.brokers);
  await connect();
  const ledger = new Ledger();
  const run = newRun(job);
  await producer.send({ topic, acks: -1, messages: [jobPush(run, { users: 3 }, ledger, 1)] });
  await producer.disconnect();
  const totals = await settledTotals(prom, ledger, 60_000);
  for (const [key, value] of ledger.expected) expect(totals.get(key), key).toBe(value);
}

/** Error lines of the relay's own log, kafkajs's included. */
const errors = (relay: RelayProcess) => relay.logs.filter((l) => Number(l.level) >= 50);

describe('a relay on a fresh cluster', () => {
  it('creates its input, DLQ and checkpoint topics on a broker that just started, and consumes', async () => {
    const topic = 'fresh.metrics';
    const relay = await startRelayProcess(
      writeRelayConfig({ brokers: kafka.brokers, topic, groupId: 'fresh-relay', dlqTopic: 'fresh.dlq', checkpointTopic: 'fresh.checkpoints', remoteWriteUrl: prom.remoteWriteUrl }),
    );
    relays.push(relay);
    await pushAndSettle(topic, 'fresh-job');
    // kafka.topic_partitions (default 6) for the input topic it created.
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic, 'fresh.dlq', 'fresh.checkpoints'] });
    await admin.disconnect();
    expect(new Map(topics.map((t) => [t.name, t.partitions.length]))).toEqual(
      new Map([
        [topic, 6],
        ['fresh.dlq', 1],
        ['fresh.checkpoints', 1],
      ]),
    );
    expect(errors(relay)).toEqual([]);
    const ready = await fetch(`${relay.url}/readyz`);
    expect(await ready.json()).toMatchObject({ input_topics: 'present' });
  }, 120_000);

  it('with kafka.create_topics off, waits for a missing input topic (logged, /readyz 503 naming it) and consumes once it exists', async () => {
    const topic = 'late.metrics';
    const groupId = 'late-relay';
    // Everything but the input topic exists: the operator creates topics, the relay must not.
    await Promise.all([
      kafka.createTopic('late.dlq'),
      kafka.createTopic('late.checkpoints', { compacted: true }),
      kafka.createTopic(`${groupId}.partials`, { partitions: 2 }),
    ]);
    const port = await freePort();
    const config = writeRelayConfig({
      brokers: kafka.brokers,
      topic,
      groupId,
      dlqTopic: 'late.dlq',
      checkpointTopic: 'late.checkpoints',
      remoteWriteUrl: prom.remoteWriteUrl,
      extra: { server: { host: '127.0.0.1', port } },
    });
    writeFileSync(config, readFileSync(config, 'utf8').replace('kafka:\n', 'kafka:\n  create_topics: false\n'));
    const starting = startRelayProcess(config);
    const readyz = async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      } catch {
        return { status: 0, body: {} };
      }
    };
    const waiting = await eventually(readyz, (r) => r.body.input_topics === `missing: ${topic}`, 60_000);
    expect(waiting.status).toBe(503);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    await kafka.createTopic(topic, { partitions: 2 });
    const relay = await starting;
    relays.push(relay);
    expect(relay.logs.find((l) => String(l.msg).startsWith('waiting for input topics'))).toMatchObject({ level: 40, missing: [topic] });
    await pushAndSettle(topic, 'late-job');
    expect(errors(relay)).toEqual([]);
    // It created none of them itself: the broker's auto-creation was not used either.
    expect((await readyz()).body.input_topics).toBe('present');
  }, 150_000);

  it('exits 1 with one fatal JSON line naming the brokers when none answers', async () => {
    const broker = `127.0.0.1:${await freePort()}`;
    const config = writeRelayConfig({ brokers: [broker], topic: 'x', groupId: 'g', dlqTopic: 'd', checkpointTopic: 'c', remoteWriteUrl: prom.remoteWriteUrl });
    const relayDir = fileURLToPath(new URL('../..', import.meta.url));
    const res = spawnSync(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', `${relayDir}src/cli.ts`, 'run', '--config', config], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toBe('');
    const lines = res.stdout.trim().split('\n');
    // Every line is one JSON object (kafkajs's connection errors among them); one fatal line names the broker.
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const fatal = parsed.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ brokers: [broker], code: 'PROM_RELAY_KAFKA_CONSUME' });
    expect(String(fatal[0]!.msg)).toContain(broker);
    expect(fatal[0]!.stack).toBeUndefined();
  }, 150_000);
});
