// A classic histogram pushed as text without a `le="+Inf"` bucket: the Pushgateway parses it into the protobuf model,
// where that bucket is implicit, and serves it back with `x_bucket{le="+Inf"}` equal to `x_count`. The relay wrote the
// buckets as pushed, so `histogram_quantile` over its series was NaN in Prometheus where over the Pushgateway's it
// works. Now the text decoder adds the bucket (decode/text-inf-buckets.ts). The same push goes to a real Pushgateway
// and to a relay process writing to Prometheus 2.42.
import { parseExposition } from '@prom-relay/codec';
import { startPushgateway, type PushgatewayServer } from '@prom-relay/infra';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../e2e/harness.js';
import { TEXT, relayWithProm, send, type RelayWithProm } from './ingest-helpers.js';

let pgw: PushgatewayServer;
let env: RelayWithProm;

beforeAll(async () => {
  pgw = await startPushgateway();
  env = await relayWithProm('inf-bucket');
}, 180_000);

afterAll(async () => {
  await env?.stop();
  await pgw?.stop();
});

const BODY = [
  '# HELP infb_seconds Step time.',
  '# TYPE infb_seconds histogram',
  'infb_seconds_bucket{step="load",le="1"} 2',
  'infb_seconds_bucket{step="load",le="5"} 3',
  'infb_seconds_sum{step="load"} 7',
  'infb_seconds_count{step="load"} 4',
  '',
].join('\n');

/** The buckets of infb_seconds as the Pushgateway serves them: le to value. */
async function gatewayBuckets(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const family of parseExposition(await pgw.metrics())) {
    for (const s of family.samples) if (s.name === 'infb_seconds_bucket' && s.labels['job'] === 'infb') out[s.labels['le']!] = s.value;
  }
  return out;
}

/** The same through the relay, as Prometheus has it. */
async function relayedBuckets(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await env.prom.query('infb_seconds_bucket{job="infb",step="load"}')) out[s.labels['le']!] = s.value;
  return out;
}

it('the +Inf bucket (= the _count) is there through the relay as through the Pushgateway: histogram_quantile works on both', async () => {
  const [gateway, relay] = await Promise.all([
    send(pgw.url, 'PUT', '/metrics/job/infb/instance/a', TEXT, BODY),
    send(env.relay.url, 'PUT', '/metrics/job/infb/instance/a', TEXT, BODY),
  ]);
  expect([gateway.status, relay.status], relay.text).toEqual([200, 200]);

  const expected = { '1': 2, '5': 3, '+Inf': 4 };
  expect(await gatewayBuckets()).toEqual(expected);
  const relayed = await eventually(relayedBuckets, (b) => Object.keys(b).length >= 3, 45_000);
  expect(relayed).toEqual(expected);

  // the median of 4 observations: the 2nd, at the top of the le="1" bucket; NaN without a +Inf bucket
  const [median] = await env.prom.query('histogram_quantile(0.5, sum by (le) (infb_seconds_bucket{job="infb"}))');
  expect(median?.value).toBe(1);
}, 120_000);
