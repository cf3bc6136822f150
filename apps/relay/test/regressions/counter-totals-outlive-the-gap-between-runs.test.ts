// Guards issue 12 item 1: a cron job's total survives the gap between its runs while its gauges expire. Scaled down,
// honestly named: an hourly job (runs an hour apart, more than series_ttl 5m, less than counter_ttl 26h) is played here
// with series_ttl 2s, counter_ttl 1m and runs 5 s apart, against a real Kafka, the relay as a process and a real
// Prometheus. Before counter_ttl, the total ended with series_ttl and the next run started it again (12, gap, 3).
import { createTestTopic } from '@prom-relay/infra/testing';
import { beforeAll, expect, it } from 'vitest';
import { eventually, relayTestEnvironment, sleep, type RelayProcess } from '../e2e/harness.js';

const env = relayTestEnvironment({ producer: false });
let relay: RelayProcess | undefined;

beforeAll(async () => {
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 2 });
  const config = env.relayConfig({
    topic,
    flushInterval: '500ms',
    extra: { aggregation: { series_ttl: '2s', counter_ttl: '1m' } },
  });
  relay = await env.startRelay(config);
  await relay.waitForLog((l) => l.msg === 'partitions assigned', 30_000);
}, 120_000);

/** One run of the cron job: a fresh process (its own start time), pushing once with the Pushgateway API. */
async function cronRun(backups: number, sizeBytes: number, startedAt: number): Promise<void> {
  const res = await fetch(`${relay!.url}/metrics/job/backup/instance/db-1`, {
    method: 'PUT',
    body: [
      '# TYPE backups_total counter',
      `backups_total ${backups}`,
      '# TYPE backup_last_size_bytes gauge',
      `backup_last_size_bytes ${sizeBytes}`,
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds ${startedAt}`,
      '',
    ].join('\n'),
  });
  expect(res.status).toBe(200);
}

const value = async (q: string) => (await env.prom.query(q))[0]?.value;

it('totals continue across runs further apart than series_ttl (scaled: 5 s apart, series_ttl 2s, counter_ttl 1m); gauges expire', async () => {
  const t0 = Math.floor(Date.now() / 1000);
  await cronRun(12, 300, t0);
  expect(await eventually(() => value('backups_total{job="backup"}'), (v) => v === 12, 20_000)).toBe(12);
  expect(await eventually(() => value('backup_last_size_bytes{job="backup"}'), (v) => v === 300, 20_000)).toBe(300);

  // The gap: 2.5 × series_ttl. The gauge gets its staleness marker; the total is kept and written on every flush.
  await sleep(5_000);
  expect(await value('backup_last_size_bytes{job="backup"}')).toBeUndefined();
  expect(await value('count_over_time(backups_total{job="backup"}[2s])')).toBeGreaterThan(0);
  expect(await value('backups_total{job="backup"}')).toBe(12);

  await cronRun(3, 280, t0 + 5);
  expect(await eventually(() => value('backups_total{job="backup"}'), (v) => v === 15, 20_000)).toBe(15);
  await sleep(5_000);
  await cronRun(5, 310, t0 + 10);
  expect(await eventually(() => value('backups_total{job="backup"}'), (v) => v === 20, 20_000)).toBe(20);
  expect(await eventually(() => value('backup_last_size_bytes{job="backup"}'), (v) => v === 310, 20_000)).toBe(310);

  // Never a gap and never down: every sample of the total since the first run, one series, written each flush.
  const [series, ...others] = await env.prom.querySeries('backups_total{job="backup"}[1m]');
  expect(others).toHaveLength(0);
  const samples = series!.samples;
  expect(samples[0]!.value).toBe(12);
  for (let i = 1; i < samples.length; i++) {
    expect(samples[i]!.value).toBeGreaterThanOrEqual(samples[i - 1]!.value);
    expect(samples[i]!.timestamp - samples[i - 1]!.timestamp).toBeLessThan(2_000);
  }
}, 120_000);
