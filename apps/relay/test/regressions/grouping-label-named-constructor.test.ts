// Issue 10 item 4: a grouping label named `constructor` (or `toString`, `valueOf`) was refused with "appears twice" (a
// plain-object lookup); the real Pushgateway takes it. Now it is an ordinary label: in the path, in the Kafka headers,
// in the consumer, and in the series the relay writes to Prometheus.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parsePushPath } from '../../src/ingest/index.js';
import { parseGrouping } from '../../src/decode/index.js';
import { eventually } from '../e2e/harness.js';
import { TEXT, relayWithProm, send, type RelayWithProm } from './ingest-helpers.js';

let env: RelayWithProm;

beforeAll(async () => {
  env = await relayWithProm('ctor');
}, 120_000);
afterAll(async () => {
  await env?.stop();
});

it('the path and the grouping header take labels named like Object.prototype members; a real twice is still refused', () => {
  expect(parsePushPath('/metrics/job/j/constructor/a/toString/b/valueOf/c/hasOwnProperty/d').grouping).toEqual({
    constructor: 'a',
    toString: 'b',
    valueOf: 'c',
    hasOwnProperty: 'd',
  });
  expect(() => parsePushPath('/metrics/job/j/constructor/a/constructor/b')).toThrow('grouping label constructor appears twice');
  expect(parseGrouping('constructor=a&toString=b&valueOf=c')).toEqual({ constructor: 'a', toString: 'b', valueOf: 'c' });
});

it('a push grouped by constructor, toString and valueOf reaches Prometheus with those labels', async () => {
  const { relay, prom } = env;
  const res = await send(relay.url, 'PUT', '/metrics/job/ctor/constructor/Object/toString/x/valueOf/y', TEXT, '# TYPE ctor_rows_total counter\nctor_rows_total{table="t"} 4\n');
  expect(res.status).toBe(200);
  const series = await eventually(async () => prom.query('ctor_rows_total'), (v) => v.length > 0, 45_000);
  expect(series).toHaveLength(1);
  expect(series[0]!.labels).toEqual({ __name__: 'ctor_rows_total', job: 'ctor', table: 't', constructor: 'Object', toString: 'x', valueOf: 'y' });
  expect(series[0]!.value).toBe(4);
}, 90_000);
