// A Pushgateway PUT replaces every metric of its group and a POST those of the names it pushes: a cron job's run that no
// longer reports a gauge makes it disappear at once. The relay kept such a gauge for series_ttl (5 min) and, when the
// push came from a new run of the job (a new process: a new producer), kept the old run's value beside the new one's:
// a `sum` over the group's gauges counted both. Now a push of an exposition body (text, protobuf MetricFamily) ends
// the group's gauges it no longer carries, for every run of the group (aggregate/group-ends.ts). The same pushes, by
// Python's prometheus_client (push_to_gateway, pushadd_to_gateway), go to a real Pushgateway and to a relay process
// writing to Prometheus 2.42; counter totals differ on purpose (the relay adds the runs up).
import { parseExposition } from '@prom-relay/codec';
import { startPushgateway, type PushgatewayServer } from '@prom-relay/infra';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../e2e/harness.js';
import { run } from '../flink/build.js';
import { PYTHON, PYTHON_SCRIPTS, ensurePythonClient } from '../clients/python-client.js';
import { relayWithProm, type RelayWithProm } from './ingest-helpers.js';

let pgw: PushgatewayServer;
let relay: RelayWithProm;

beforeAll(async () => {
  await ensurePythonClient();
  pgw = await startPushgateway();
  relay = await relayWithProm('gauge-replace');
}, 600_000);

afterAll(async () => {
  await relay?.stop();
  await pgw?.stop();
});

type Gauges = Array<[string, Record<string, string>, number]>;

/** One run of the job (its own Python process), pushed to the Pushgateway and to the relay. */
async function cronRun(rows: number, gauges: Gauges, add = false) {
  const args = [join(PYTHON_SCRIPTS, 'gauges_run.py'), 'pycron', 'host-1', String(rows), JSON.stringify(gauges), pgw.url, relay.relay.url];
  const r = await run(PYTHON, add ? [...args, '--add'] : args, { timeoutMs: 60_000 });
  expect(r.code, r.output).toBe(0);
}

/** The job's samples of `name` as the Pushgateway serves them, by their labels other than job and instance. */
async function gateway(name: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${pgw.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const family of parseExposition(text)) {
    for (const s of family.samples) {
      if (s.name !== name || s.labels['job'] !== 'pycron') continue;
      const { job: _job, instance: _instance, __name__: _name, ...rest } = s.labels;
      out[JSON.stringify(rest)] = s.value;
    }
  }
  return out;
}

/** The same through the relay, as Prometheus has it now (a series ended by a staleness marker is absent). */
async function relayed(name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await relay.prom.query(`${name}{job="pycron"}`)) {
    const { job: _job, instance: _instance, __name__: _name, ...rest } = s.labels;
    out[JSON.stringify(rest)] = s.value;
  }
  return out;
}

const same = (a: Record<string, number>, b: Record<string, number>) => JSON.stringify(a) === JSON.stringify(b);

/** Both views of gauge `name` once the relay's flush reached Prometheus: they must agree. */
async function expectBoth(name: string, expected: Record<string, number>) {
  expect(await gateway(name)).toEqual(expected);
  expect(await eventually(() => relayed(name), (v) => same(v, expected), 30_000)).toEqual(expected);
}

it('a run’s PUT ends the gauges the previous run pushed and it does not; a POST those of the names it pushes', async () => {
  await cronRun(3, [
    ['cron_queue', {}, 10],
    ['cron_backlog', {}, 4],
    ['cron_disk', { dev: 'a' }, 1],
    ['cron_disk', { dev: 'b' }, 2],
  ]);
  await expectBoth('cron_backlog', { '{}': 4 });
  await expectBoth('cron_disk', { '{"dev":"a"}': 1, '{"dev":"b"}': 2 });

  // The next run (a new process, a new producer) reports the queue and one disk: its PUT holds the group now.
  await cronRun(5, [
    ['cron_queue', {}, 12],
    ['cron_disk', { dev: 'a' }, 3],
  ]);
  await expectBoth('cron_backlog', {});
  await expectBoth('cron_queue', { '{}': 12 });
  await expectBoth('cron_disk', { '{"dev":"a"}': 3 });
  // the intended difference: the Pushgateway holds the last run's count, the relay the total of the runs
  expect(await gateway('cron_rows_total')).toEqual({ '{}': 5 });
  expect(await eventually(() => relayed('cron_rows_total'), (v) => v['{}'] === 8, 30_000)).toEqual({ '{}': 8 });

  // A POST of another disk: the disks are replaced, the queue stays.
  await cronRun(0, [['cron_disk', { dev: 'c' }, 7]], true);
  await expectBoth('cron_disk', { '{"dev":"c"}': 7 });
  await expectBoth('cron_queue', { '{}': 12 });
}, 240_000);
