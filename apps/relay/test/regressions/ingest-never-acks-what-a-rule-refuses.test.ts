// Guards "a 2xx means applied" where aggregation rules read gauges as running totals (`inputType: counter`, a
// `total` output): the aggregate refuses such a value outside 0..1e300 (a negative temperature summed as a total), so
// the ingest, which knows the rules, answers 4xx naming it instead of 2xx — on every path: the full check, the
// check without points, the group's skeleton (a repeated push with only its values changed) and the worker thread
// (big pushes). Values the rules do not read as totals pass as before. Found by review (2026-12-02).
import { compress, encodeWriteRequest } from '@prom-relay/codec';
import { afterAll, describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import type { AggregateOptions } from '../../src/aggregate/index.js';
import { decodeRecord } from '../../src/decode/index.js';
import type { IngestMessage } from '../../src/ingest/index.js';
import { serveIngest, type ServedIngest } from '../ingest/serve.js';
import { options } from '../aggregate/fixtures.js';
import { RW1, TEXT, send } from './ingest-helpers.js';

const RULES: AggregateOptions['rules'] = [
  { match: 'temp_celsius', outputs: ['total'] },
  { match: '{__name__=~"load_.*"}', inputType: 'counter' },
];
const sent: IngestMessage[] = [];
const servers: ServedIngest[] = [];

async function ingest(inlineBodyBytes?: number): Promise<string> {
  const served = await serveIngest({
    send: async (m) => {
      sent.push(...m);
    },
    decode: { totalRules: { rules: RULES } },
    ...(inlineBodyBytes !== undefined ? { inlineBodyBytes } : {}),
  });
  servers.push(served);
  return served.url;
}

afterAll(async () => {
  for (const s of servers) await s.close();
});

const push = (url: string, group: string, body: string) => send(url, 'PUT', `/metrics/job/rules/instance/${group}`, TEXT, body);

/** What the consumer does with the messages the ingest wrote: points the aggregate refused. */
function refusedByTheAggregate(messages: IngestMessage[]): number {
  const agg = new PartitionAggregate(options({ rules: RULES }));
  let rejected = 0;
  for (const [i, m] of messages.entries()) {
    const batch = decodeRecord({ topic: 't', partition: 0, offset: String(i), key: Buffer.from(m.key), value: m.value, headers: m.headers });
    rejected += agg.apply(batch, 1000 + i).rejected;
  }
  return rejected;
}

describe('the ingest refuses what a rule reading gauges as totals would refuse', () => {
  it('text pushes: full check, check without points, skeleton', async () => {
    const url = await ingest();
    const head = '# TYPE temp_celsius gauge\n# TYPE load_avg gauge\n# TYPE other gauge\n';
    sent.length = 0;
    // first push of the group: passes (a running total takes 5 and 1.5), its skeleton is kept
    expect((await push(url, 'a', `${head}temp_celsius 5\nload_avg 1.5\nother -2\n`)).status).toBe(200);
    // the same lines, a negative value where a `total` rule reads the gauge: refused, named
    const r1 = await push(url, 'a', `${head}temp_celsius -3\nload_avg 1.5\nother -2\n`);
    expect(r1.status).toBe(400);
    expect(r1.text).toMatch(/temp_celsius.*aggregation rule reads it as a running total/s);
    // inputType counter on a gauge: the same
    const r2 = await push(url, 'a', `${head}temp_celsius 6\nload_avg -1\nother -2\n`);
    expect(r2.status).toBe(400);
    expect(r2.text).toMatch(/load_avg/);
    // NaN is no running total either; a gauge no rule reads as one takes any value
    expect((await push(url, 'b', `${head}temp_celsius NaN\n`)).status).toBe(400);
    expect((await push(url, 'b', `${head}other -7\nother2 NaN\n`)).status).toBe(200);
    // every message written is applied whole
    expect(sent.length).toBe(2);
    expect(refusedByTheAggregate(sent)).toBe(0);
  });

  it('big pushes checked in the worker thread', async () => {
    const url = await ingest(1);
    sent.length = 0;
    expect((await push(url, 'w', '# TYPE temp_celsius gauge\ntemp_celsius 4\n')).status).toBe(200);
    const refused = await push(url, 'w', '# TYPE temp_celsius gauge\ntemp_celsius -4\n');
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/running total/);
    expect(sent.length).toBe(1);
    expect(refusedByTheAggregate(sent)).toBe(0);
  });

  it('Remote Write: the series a rule would refuse is named, the others are written', async () => {
    const url = await ingest();
    sent.length = 0;
    const at = Date.now();
    const request = {
      timeseries: [
        { labels: { __name__: 'temp_celsius', job: 'rw', instance: 'i1' }, samples: [{ value: -3, timestamp: at }] },
        { labels: { __name__: 'requests_total', job: 'rw', instance: 'i1' }, samples: [{ value: 9, timestamp: at }] },
      ],
      metadata: [
        { metricFamilyName: 'temp_celsius', type: 'gauge' as const, help: '', unit: '' },
        { metricFamilyName: 'requests_total', type: 'counter' as const, help: '', unit: '' },
      ],
    };
    const res = await send(url, 'POST', '/api/v1/write', RW1, Buffer.from(compress(encodeWriteRequest(request))));
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/temp_celsius.*running total/s);
    expect(res.text).not.toMatch(/requests_total/);
    expect(sent.length).toBe(1);
    expect(refusedByTheAggregate(sent)).toBe(0);
  });
});
