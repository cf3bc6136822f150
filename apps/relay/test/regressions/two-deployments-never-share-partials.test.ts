// Guards the repartition stage's topic: two relay deployments (two consumer groups) on one Kafka cluster each get their
// own partials topic (`<group_id>.partials`), so neither writes the other's series to its Prometheus.
import { startPrometheus } from '@prom-relay/infra';
import { createTestTopic, testTopicName } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { eventually, Ledger, jobPush, newRun, relayTestEnvironment, stopRelay, testRelayConfig } from '../e2e/harness.js';

const env = relayTestEnvironment({ receiver: () => Promise.all([startPrometheus(), startPrometheus()]) });

it('two groups on one broker: each Prometheus holds the series of its own deployment only', async () => {
  const { prom: proms, producer } = env;
  const deployments = await Promise.all(
    ['team-a', 'team-b'].map(async (team, i) => {
      const topic = await createTestTopic({ prefix: `metrics-${team}`, partitions: 2 });
      const groupId = testTopicName(`relay-${team}`);
      const config = testRelayConfig({ topic, groupId, remoteWriteUrl: proms[i]!.remoteWriteUrl });
      const relay = await env.startRelay(config);
      return { team, topic, groupId, relay, prom: proms[i]! };
    }),
  );
  for (const d of deployments) {
    const ledger = new Ledger();
    const run = newRun(`job-${d.team}`);
    await producer.send({ topic: d.topic, acks: -1, messages: [jobPush(run, { users: 3 }, ledger)] });
  }
  for (const d of deployments) {
    const other = deployments.find((x) => x !== d)!;
    await eventually(() => d.prom.query(`e2e_rows_total{job="job-${d.team}"}`), (r) => r.length === 1 && r[0]!.value === 3, 30_000);
    const partials = (await d.relay.waitForLog((l) => l.msg === 'repartition stage ready: one owner per output series')).topic;
    expect(partials).toBe(`${d.groupId}.partials`);
    // A few more flushes: a shared topic would have brought the other team's series by now.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await d.prom.query(`{job="job-${other.team}"}`)).toEqual([]);
  }
  for (const d of deployments) expect(await stopRelay(d.relay)).toBe(0);
}, 120_000);
