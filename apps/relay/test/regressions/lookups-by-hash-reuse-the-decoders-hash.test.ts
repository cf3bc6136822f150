// Guards the aggregate's CPU where a push's points are not where the scope's last push had them (each producer of a
// job writes its own series, e.g. a task id): every point is then found by its identity hash. The text decoder computed
// that hash while parsing, leaving out the labels the headers override (`job`, the grouping). A scope leaves producer
// labels (`instance`) out of its own set, so the sets differ; the decoder's hash still serves when no series of the
// message wrote one of the header's labels, and must not when one did (that label is in the scope's identity). Were
// the hash read from each key again, apply would spend most of its time there (bench/diagnosis/compact-store.ts
// measured ~1 us a point, ~60 % of apply); were the decoder's hash used where it does not serve, a series would not
// be found and its producer's cumulative value would count twice.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { decodeRecord, type KafkaRecord } from '../../src/decode/index.js';
import { identityHashesRecomputedSoFar } from '../../src/decode/identity.js';
import { byId, options } from '../aggregate/fixtures.js';

let offset = 0;
function push(agg: PartitionAggregate, producer: number, body: string, at: number): void {
  const rec: KafkaRecord = {
    topic: 't',
    partition: 0,
    offset: String(offset++),
    key: null,
    value: Buffer.from(`# TYPE rows_total counter\n${body}`),
    headers: {
      'content-type': 'text/plain; version=0.0.4',
      'prom-relay-job': 'export',
      'prom-relay-producer': `p${producer}`,
      'prom-relay-grouping': `instance=w${producer}`,
    },
  };
  agg.apply(decodeRecord(rec, {}), at);
}

/** Producer `p`'s own 50 series (a task label of its own), each at `value`. */
const ownSeries = (p: number, value: number, extra = '') =>
  Array.from({ length: 50 }, (_, i) => `rows_total{task="t${p}-${i}",stage="s${i % 3}"${extra}} ${value}`).join('\n');

describe('lookups by hash reuse the hash the decoder computed', () => {
  it('producers writing their own series: no key is hashed again, and the totals are exact', () => {
    const agg = new PartitionAggregate(options());
    for (let p = 0; p < 4; p++) push(agg, p, ownSeries(p, 10), 1000);
    const before = identityHashesRecomputedSoFar();
    // each push follows another producer's: no point is at its position of the scope's last push
    for (let p = 0; p < 4; p++) push(agg, p, ownSeries(p, 25), 2000);
    expect(identityHashesRecomputedSoFar() - before).toBe(0);
    const totals = byId(agg.collect(3000));
    expect(Object.keys(totals)).toHaveLength(200);
    expect(new Set(Object.values(totals))).toEqual(new Set([25]));
  });

  it('a body that writes a label the headers override: the key is hashed again and its series is still found, after a restore too', () => {
    const first = new PartitionAggregate(options());
    for (let p = 0; p < 4; p++) push(first, p, ownSeries(p, 10, ',instance="written"'), 1000);
    first.collect(1500);
    // a restore indexes every input by the hash read from its key with the scope's set
    const agg = PartitionAggregate.fromState(JSON.parse(JSON.stringify(first.toState())), options());
    const before = identityHashesRecomputedSoFar();
    for (let p = 0; p < 4; p++) push(agg, p, ownSeries(p, 25, ',instance="written"'), 2000);
    const totals = byId(agg.collect(3000));
    expect(Object.keys(totals)).toHaveLength(200);
    expect(new Set(Object.values(totals))).toEqual(new Set([25]));
    expect(identityHashesRecomputedSoFar() - before).toBeGreaterThan(0);
  });
});
