// Many short-lived producers, poison mixed in: Prometheus ends with exactly the sums, each poison once in the DLQ.
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { Kafka, logLevel } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, Ledger, relayTestEnvironment, runFleet, seriesKey, stopRelay, writeRelayConfig, type RelayProcess } from './harness.js';

const env = relayTestEnvironment();
let relay: RelayProcess | undefined;
let topic: string;
const dlqTopic = testTopicName('dlq');

async function promTotals(): Promise<Map<string, number>> {
  const vector = await env.prom.query('{__name__=~"e2e_.*"}');
  return new Map(vector.map((s) => [seriesKey(s.labels), s.value]));
}

beforeAll(async () => {
  topic = await createTestTopic({ prefix: 'metrics', partitions: 3 });
  const config = writeRelayConfig({
    brokers: testKafkaBrokers(),
    topic,
    groupId: testTopicName('relay'),
    dlqTopic,
    checkpointTopic: testTopicName('ckpt'),
    remoteWriteUrl: env.prom.remoteWriteUrl,
  });
  relay = await env.startRelay(config);
}, 90_000);

describe('relay end to end, real Kafka and Prometheus', () => {
  it('sums many overlapping short-lived producers exactly; every poison message lands in the DLQ once', async () => {
    const ledger = new Ledger();
    const sent = await runFleet({
      send: (messages) => env.producer.send({ topic, acks: -1, messages }).then(() => undefined),
      jobs: ['e2e-export', 'e2e-import', 'e2e-report'],
      runs: 45,
      pushesPerRun: 5,
      overlap: 6,
      pauseMs: 20,
      ledger,
      poisonEvery: 7,
    });
    expect(sent.poison).toBeGreaterThan(3);
    const expected = ledger.expected;
    const seen = await eventually(promTotals, (m) => [...expected].every(([k, v]) => m.get(k) === v), 30_000);
    for (const [key, value] of expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
    // Nothing extra: no series Prometheus has that the jobs did not emit.
    expect([...seen.keys()].sort()).toEqual([...expected.keys()].sort());

    // The DLQ holds each poison message exactly once, with the reason.
    const consumer = new Kafka({ brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({ groupId: testTopicName('dlq-reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: dlqTopic, fromBeginning: true });
    const dead: { offset: string; reason: string }[] = [];
    void consumer.run({
      eachMessage: async ({ message }) => {
        dead.push({ offset: String(message.headers?.['prom-relay-dlq-offset']), reason: String(message.headers?.['prom-relay-dlq-reason']) });
      },
    });
    await eventually(async () => dead.length, (n) => n >= sent.poison, 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    await consumer.disconnect();
    expect(dead).toHaveLength(sent.poison);
    expect(new Set(dead.map((d) => d.offset)).size).toBe(sent.poison);
    for (const d of dead) expect(d.reason).toMatch(/^PROM_RELAY_/);

    // The relay counted them on /metrics, and says it is ready.
    const metrics = await (await fetch(`${relay!.url}/metrics`)).text();
    const dlqCount = [...metrics.matchAll(/^prom_relay_dead_letters_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(dlqCount).toBe(sent.poison);
    expect(metrics).toMatch(/^prom_relay_messages_consumed_total\{topic="[^"]+",partition="\d"\} \d+/m);
    expect(metrics).toMatch(/^prom_relay_active_series\{/m);
    const ready = await fetch(`${relay!.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', assigned: true, restored: true });
    expect((await fetch(`${relay!.url}/healthz`)).status).toBe(200);
  }, 120_000);

  it('takes Pushgateway pushes on its HTTP ingest and sums machines into one total', async () => {
    const push = async (instance: string, value: number) => {
      const res = await fetch(`${relay!.url}/metrics/job/http-ingest/instance/${instance}`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain; version=0.0.4' },
        body: `# TYPE ingest_http_rows_total counter\ningest_http_rows_total{table="users"} ${value}\n`,
      });
      expect(res.status).toBeLessThan(300);
    };
    await push('host-1', 5);
    await push('host-2', 3);
    await push('host-1', 9); // the same machine again: its increase (4) counts, not its whole value
    const total = async () => (await env.prom.query('ingest_http_rows_total{job="http-ingest"}'))[0]?.value;
    // 5 (host-1) + 3 (host-2) + 4 (host-1 from 5 to 9)
    expect(await eventually(total, (v) => v === 12, 20_000)).toBe(12);
    const series = await env.prom.query('ingest_http_rows_total');
    expect(series).toHaveLength(1);
    expect(series[0]!.labels).toMatchObject({ job: 'http-ingest', table: 'users' });
    expect(series[0]!.labels.instance).toBeUndefined();

    const bad = await fetch(`${relay!.url}/metrics/job/http-ingest`, { method: 'PUT', body: 'ingest_http_rows_total{ 1\n' });
    expect(bad.status).toBe(400);
    const exposition = await (await fetch(`${relay!.url}/metrics`)).text();
    expect(exposition).toContain('prom_relay_ingest_requests_total{api="pushgateway",status="200",code="none"} 3');
    expect(exposition).toContain('prom_relay_ingest_requests_total{api="pushgateway",status="400",code="PROM_RELAY_INGEST_BODY"} 1');
  }, 60_000);

  it('shuts down on SIGTERM within the deadline, after a final flush', async () => {
    const code = await stopRelay(relay!);
    expect(code).toBe(0);
    expect(relay!.logs.some((l) => l.msg === 'final flush and checkpoint done')).toBe(true);
    expect(relay!.logs.some((l) => l.msg === 'relay stopped')).toBe(true);
    relay = undefined;
  }, 30_000);
});
