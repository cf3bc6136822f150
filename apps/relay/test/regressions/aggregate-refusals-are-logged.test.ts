// "Silence is a bug": points the aggregate refused at a limit (aggregation.max_series and the others) or as values a
// total cannot take were counted (prom_relay_limit_hits_total, prom_relay_points_rejected_total) but never logged:
// the operator reading the logs saw nothing while new series were dropped. Now a rate-limited warning names the limit,
// the partition and how many points (PROM_RELAY_AGGREGATE_LIMIT), as type conflicts already were. Found by review
// (2026-12-02). One relay process, real Kafka; pushes through its ingest.
import { createTestTopic } from '@prom-relay/infra/testing';
import { afterAll, expect, it } from 'vitest';
import { eventually, startRelayProcess, stopRelay, type RelayProcess, testRelayConfig } from '../e2e/harness.js';

let relay: RelayProcess | undefined;

afterAll(() => {
  if (relay && relay.child.exitCode === null) relay.kill('SIGKILL');
});

it('points refused at max_series are counted and logged, naming the limit, at most 5 lines in 10 s', async () => {
  const topic = await createTestTopic({ prefix: 'limits', partitions: 1 });
  const config = testRelayConfig({ topic, remoteWriteUrl: 'http://127.0.0.1:9/api/v1/write', extra: { aggregation: { max_series: 2 } } });
  relay = await startRelayProcess(config);
  const body = Array.from({ length: 5 }, (_, i) => `rows_total{shard="${i}"} ${i + 1}`).join('\n') + '\n';
  for (let run = 0; run < 8; run++) {
    const res = await fetch(`${relay.url}/metrics/job/etl/instance/w${run}`, { method: 'PUT', body: `# TYPE rows_total counter\n${body}` });
    expect(res.status).toBe(200);
  }
  const line = await relay.waitForLog((l) => l.code === 'PROM_RELAY_AGGREGATE_LIMIT', 20_000);
  // pino's warn
  expect(line).toMatchObject({ level: 40, limits: { maxSeries: expect.any(Number) as number } });
  // every push refuses the three series past the first two (instance is a producer label: one set of outputs)
  const hits = async () => Number(/^prom_relay_limit_hits_total\{limit="maxSeries"\} (\d+)$/m.exec(await (await fetch(`${relay!.url}/metrics`)).text())?.[1] ?? 0);
  expect(await eventually(hits, (n) => n >= 24, 20_000)).toBe(24);
  // rate-limited: eight refusing pushes within seconds, at most five lines
  const lines = relay.logs.filter((l) => l.code === 'PROM_RELAY_AGGREGATE_LIMIT').length;
  expect(lines).toBeGreaterThanOrEqual(1);
  expect(lines).toBeLessThanOrEqual(5);
  expect(await stopRelay(relay)).toBe(0);
}, 90_000);
