// Guards issue 9: a total is exact and never goes down whatever partition its inputs land on — kcat's librdkafka
// partitioner beside kafkajs's and the ingest's, a rule across jobs spread over every partition, null keys, and one
// producer's pushes spread round-robin — with real Kafka (5 partitions), a real Prometheus and the relay as a process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { buildMessage, CONTENT_TYPE, createEmitter } from '@prom-relay/emitter';
import { expect, it } from 'vitest';
import { Ledger, orderViolations, relayTestEnvironment, settledTotals, seriesKey, stopRelay } from '../e2e/harness.js';

const env = relayTestEnvironment();

const key = (labels: Record<string, string>) => seriesKey(labels);

function textBody(lines: string[]): Buffer {
  return Buffer.from(`${lines.join('\n')}\n`);
}

it('sums one job written by kcat, the emitter and the ingest, a rule across 6 jobs on every partition, null keys and round-robin pushes: exact, never down', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 5 });
  const config = env.relayConfig({
    topic,
    extra: {
      aggregation: {
        series_ttl: '10m',
        rules: [{ match: 'e2e_http_requests_total', by: ['route'], outputs: ['total'] }],
      },
    },
  });
  const relay = await env.startRelay(config);
  await relay.waitForLog((l) => l.msg === 'partitions assigned', 30_000);
  const ledger = new Ledger();
  const rows = key({ __name__: 'e2e_rows_written_total', job: 'nightly-export', table: 'users' });

  // 1. kcat with librdkafka's default partitioner (CRC32), keyed as docs/message-format.md says: 3 runs.
  const dir = mkdtempSync(join(tmpdir(), 'kcat-'));
  for (const value of [120, 30, 7]) {
    const body = join(dir, `${randomUUID()}.prom`);
    writeFileSync(body, `# TYPE e2e_rows_written_total counter\ne2e_rows_written_total{table="users"} ${value}\n`);
    execFileSync('kcat', [
      '-P', '-b', testKafkaBrokers()[0]!, '-t', topic, '-k', 'job=nightly-export',
      '-H', 'content-type=text/plain; version=0.0.4', '-H', 'prom-relay-job=nightly-export',
      '-H', `prom-relay-producer=${randomUUID()}`, '-H', 'prom-relay-seq=0', '-H', 'prom-relay-grouping=instance=host-1',
      body,
    ]);
    ledger.add(rows, value);
  }

  // 2. The same job from the emitter SDK (kafkajs, murmur2): 2 runs.
  for (const value of [11, 13]) {
    const emitter = createEmitter({ brokers: testKafkaBrokers(), topic });
    emitter.emit([{ name: 'e2e_rows_written_total', type: 'counter', value, labels: { table: 'users' } }], { job: 'nightly-export', groupings: { instance: 'host-2' } });
    expect((await emitter.close(10_000)).flushed).toBe(true);
    ledger.add(rows, value);
  }

  // 3. The same job through the relay's Pushgateway ingest: 2 runs, each with its run id.
  for (const value of [5, 8]) {
    const res = await fetch(`${relay.url}/metrics/job/nightly-export/instance/host-3`, {
      method: 'PUT',
      headers: { 'prom-relay-producer': randomUUID() },
      body: `# TYPE e2e_rows_written_total counter\ne2e_rows_written_total{table="users"} ${value}\n`,
    });
    expect(res.status).toBe(200);
    ledger.add(rows, value);
  }

  // 4. A rule `by: [route]` over 6 jobs, each job's pushes on its own partition (all 5 used), 3 pushes per run.
  for (let j = 0; j < 6; j++) {
    const producerId = randomUUID();
    let a = 0;
    let b = 0;
    for (let seq = 0; seq < 3; seq++) {
      a += 2 + j;
      b += 1;
      const msg = buildMessage(
        { contentType: CONTENT_TYPE.text, job: `route-job-${j}`, grouping: { instance: `h${j}` }, producerId, sequence: seq },
        textBody(['# TYPE e2e_http_requests_total counter', `e2e_http_requests_total{route="/a"} ${a}`, `e2e_http_requests_total{route="/b"} ${b}`]),
      );
      await producer.send({ topic, acks: -1, messages: [{ ...msg, partition: j % 5 }] });
    }
    ledger.add(key({ __name__: 'e2e_http_requests_total:by_route_total', route: '/a' }), a);
    ledger.add(key({ __name__: 'e2e_http_requests_total:by_route_total', route: '/b' }), b);
  }

  // 5. Null keys (kafkajs spreads them) and 6. one producer's pushes spread round-robin over the partitions,
  // later pushes first: cumulative values must count once per run, not once per partition.
  for (const [job, spread] of [['nullkey-job', 'null'], ['roundrobin-job', 'round-robin']] as const) {
    for (let run = 0; run < 4; run++) {
      const producerId = randomUUID();
      let v = 0;
      const messages = [];
      for (let seq = 0; seq < 5; seq++) {
        v += 3 + run;
        const msg = buildMessage(
          { contentType: CONTENT_TYPE.text, job, grouping: { instance: `r${run}` }, producerId, sequence: seq },
          textBody(['# TYPE e2e_spread_total counter', `e2e_spread_total ${v}`]),
        );
        messages.push(spread === 'null' ? { ...msg, key: null } : { ...msg, partition: (seq + run) % 5 });
      }
      await producer.send({ topic, acks: -1, messages });
      ledger.add(key({ __name__: 'e2e_spread_total', job }), v);
    }
  }

  const seen = await settledTotals(prom, ledger, 60_000);
  for (const [k, value] of ledger.expected) expect({ k, value: seen.get(k) }).toEqual({ k, value });
  expect(await orderViolations(prom)).toEqual([]);

  // Kafka put the job on several partitions, and the relay says so: series fed from several partitions, pushes forwarded.
  const metrics = await (await fetch(`${relay.url}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
  expect(gauge('prom_relay_output_series_owned')).toBeGreaterThanOrEqual(ledger.expected.size);
  expect(gauge('prom_relay_output_series_multi_source')).toBeGreaterThanOrEqual(1);
  expect(metrics).toMatch(/prom_relay_pushes_forwarded_total\{topic="[^"]+"\} [1-9]/);
  expect(metrics).toMatch(/prom_relay_partials_received_total\{result="applied"\} [1-9]/);
  expect(await stopRelay(relay)).toBe(0);
}, 180_000);
