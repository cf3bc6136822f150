// A checkpoint that does not decode: the relay never starts that partition empty (it would lower totals); it retries,
// stays unready, and goes on once an operator tombstones the checkpoint.
import { spawnSync } from 'node:child_process';
import { createTestTopic, testKafkaBrokers, testTopicName } from '@prom-relay/infra/testing';
import { expect, it } from 'vitest';
import { CHECKPOINT_HEADERS } from '../../src/checkpoint/index.js';
import { Ledger, promTotals, relayTestEnvironment, runFleet, settledTotals, sleep, stopRelay, writeRelayConfig } from './harness.js';

const env = relayTestEnvironment();

it('retries a corrupt checkpoint instead of starting empty, and recovers after a tombstone', async () => {
  const { prom, producer } = env;
  const topic = await createTestTopic({ prefix: 'metrics', partitions: 1 });
  const checkpointTopic = await createTestTopic({ prefix: 'ckpt', compacted: true });
  await producer.send({
    topic: checkpointTopic,
    acks: -1,
    messages: [{ key: `${topic}/0`, value: Buffer.from('not a checkpoint'), headers: { [CHECKPOINT_HEADERS.offset]: '3' } }],
  });
  const ledger = new Ledger();
  await runFleet({
    send: (messages) => producer.send({ topic, acks: -1, messages }).then(() => undefined),
    jobs: ['corrupt-a'],
    runs: 4,
    pushesPerRun: 3,
    overlap: 2,
    pauseMs: 0,
    ledger,
  });
  const relay = await env.startRelay(
    writeRelayConfig({
      brokers: testKafkaBrokers(),
      topic,
      groupId: testTopicName('relay'),
      dlqTopic: testTopicName('dlq'),
      checkpointTopic,
      remoteWriteUrl: prom.remoteWriteUrl,
    }),
  );
  const failure = await relay.waitForLog((l) => l.msg === 'restore from checkpoint failed; retrying', 20_000);
  expect(JSON.stringify(failure)).toContain('PROM_RELAY_CHECKPOINT_CORRUPT');
  expect(failure).toMatchObject({ code: 'PROM_RELAY_SOURCE_RESTORE', partition: `${topic}/0` });
  await sleep(1500);
  expect((await fetch(`${relay.url}/readyz`)).status).toBe(503);
  // Each failed attempt counted, per partition.
  const metrics = await (await fetch(`${relay.url}/metrics`)).text();
  const failures = new RegExp(`^prom_relay_restore_failures_total\\{topic="${topic}",partition="0"\\} (\\d+)`, 'm').exec(metrics);
  expect(Number(failures?.[1])).toBeGreaterThanOrEqual(1);
  expect((await promTotals(prom)).size).toBe(0);

  // The operator's tombstone as apps/relay/README.md (Checkpoint) writes it: `kcat -P -b … -t <checkpoint topic> -K: -Z`
  // reading `<topic>/<partition>:` (-Z: the empty value is sent as null, a tombstone; an empty value would not be one).
  const tombstone = spawnSync('bash', ['-o', 'pipefail', '-c', `printf '%s\\n' '${topic}/0:' | kcat -P -b ${testKafkaBrokers()[0]} -t ${checkpointTopic} -K: -Z`], { encoding: 'utf8' });
  expect(tombstone.status, tombstone.stderr).toBe(0);
  // the input partition's restore (an owner partition of the partials topic logs one too, from the start)
  await relay.waitForLog((l) => l.msg === 'partition restored' && l.partition === `${topic}/0`, 30_000);
  const seen = await settledTotals(prom, ledger, 30_000);
  for (const [key, value] of ledger.expected) expect({ key, value: seen.get(key) }).toEqual({ key, value });
  expect(await stopRelay(relay)).toBe(0);
}, 120_000);
