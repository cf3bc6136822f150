// The aggregate refuses a point whose labels, the job and grouping labels included, pass aggregation.max_labels_per_series
// or aggregation.max_label_value_length (2048 by default), and every point of a group whose grouping value is too long.
// The ingest checked the body's own labels only: a long grouping value or job name, a body within the limit that the
// grouping labels took past it, and Remote Write series past either limit were answered 2xx, then dropped by the
// aggregate (prom_relay_points_rejected_total{reason="limit"}, nothing in Prometheus). Now they are refused with a 400
// naming the series and the limit; what the relay acknowledged reaches Prometheus, and nothing is rejected after.
import { compress, encodeWriteRequest } from '@prom-relay/codec';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../e2e/harness.js';
import { RW1, TEXT, relayCounter, relayWithProm, send, type RelayWithProm } from './ingest-helpers.js';

let env: RelayWithProm;
beforeAll(async () => {
  env = await relayWithProm('label-limits');
}, 120_000);
afterAll(async () => {
  await env?.stop();
});

const SIX_GROUPING = '/g1/1/g2/2/g3/3/g4/4/g5/5/g6/6';
/** `{l0="v",…}` with n labels, then `extra` pairs */
function labels(n: number, extra: string[] = []): string {
  return `{${[...Array.from({ length: n }, (_, i) => `l${i}="v"`), ...extra].join(',')}}`;
}

it('a push or Remote Write series the aggregate would refuse at a label limit is answered 400, and what was acknowledged all reaches Prometheus', async () => {
  const url = env.relay.url;
  const refused: Array<[string, string, string]> = [
    ['/metrics/job/limits/a/' + 'y'.repeat(2049), 'll_grouping 1\n', 'the value of grouping label a is longer than 2048 characters'],
    [`/metrics/job/${'J'.repeat(2049)}`, 'll_job 1\n', 'the job name is longer than 2048 characters'],
    [`/metrics/job/limits/instance/${'i'.repeat(2049)}`, 'll_instance 1\n', 'the value of grouping label instance is longer than 2048 characters'],
    // 1 name + 57 body labels + job + 6 grouping labels: 65
    [`/metrics/job/limits${SIX_GROUPING}`, `ll_count${labels(57)} 1\n`, 'has 65 labels (its name, job and grouping labels counted), more than 64'],
  ];
  for (const [path, body, problem] of refused) {
    const res = await send(url, 'PUT', path, TEXT, body);
    expect(res.status, path.slice(0, 60)).toBe(400);
    expect(res.text).toMatch(/^PROM_RELAY_INGEST_LIMIT: /);
    expect(res.text).toContain(problem);
  }

  // At the limit: 64 labels with the grouping labels; a body writing the grouping labels itself counts them once.
  const taken: Array<[string, string]> = [
    [`/metrics/job/limits${SIX_GROUPING}`, `ll_at_limit${labels(56)} 1\n`],
    [`/metrics/job/limits2${SIX_GROUPING}`, `ll_overlap${labels(51, ['g1="x"', 'g2="x"', 'g3="x"', 'g4="x"', 'g5="x"', 'g6="x"'])} 1\n`],
    ['/metrics/job/limits/a/' + 'y'.repeat(2048), 'll_long_ok 1\n'],
  ];
  for (const [path, body] of taken) {
    // twice: the second push of a group is checked by its skeleton (the group's last passed body)
    for (const value of [1, 2]) {
      const res = await send(url, 'PUT', path, TEXT, body.replace(/ 1\n$/, ` ${value}\n`));
      expect(res.status, `${path.slice(0, 60)}: ${res.text}`).toBe(200);
    }
  }

  // Remote Write: the series past a limit are named in a partial-write 400, the good one is written.
  const rwLabels = (extra: Record<string, string>) => ({ job: 'limits_rw', ...extra });
  const many: Record<string, string> = {};
  for (let i = 0; i < 63; i++) many[`l${String(i).padStart(2, '0')}`] = 'v';
  const request = {
    timeseries: [
      { labels: { __name__: 'll_rw_long', ...rwLabels({ a: 'x'.repeat(2049) }) }, samples: [{ value: 1, timestamp: Date.now() }] },
      { labels: { __name__: 'll_rw_many', ...rwLabels(many) }, samples: [{ value: 1, timestamp: Date.now() }] },
      { labels: { __name__: 'll_rw_ok', ...rwLabels({}) }, samples: [{ value: 3, timestamp: Date.now() }] },
    ],
  };
  const rw = await send(url, 'POST', '/api/v1/write', RW1, Buffer.from(compress(encodeWriteRequest(request))));
  expect(rw.status).toBe(400);
  expect(rw.text).toMatch(/^PROM_RELAY_INGEST_LIMIT: 2 series refused, 1 written \(1 samples\): /);
  expect(rw.text).toContain('the value of label a is longer than 2048 characters');
  expect(rw.text).toContain('has 65 labels');

  // Everything acknowledged reaches Prometheus...
  const names = ['ll_at_limit', 'll_overlap', 'll_long_ok', 'll_rw_ok'];
  const seen = await eventually(
    () => env.prom.query(`{__name__=~"ll_.*"}`),
    (v) => names.every((n) => v.some((s) => s.labels['__name__'] === n)),
    45_000,
  );
  expect(seen.map((s) => s.labels['__name__']).sort()).toEqual(names.sort());
  expect(seen.find((s) => s.labels['__name__'] === 'll_at_limit')?.value).toBe(2);
  // ...and the aggregate refused nothing at a limit.
  expect(await relayCounter(url, 'prom_relay_points_rejected_total', { reason: 'limit' })).toBe(0);
}, 150_000);
