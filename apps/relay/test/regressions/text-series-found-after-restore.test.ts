// Guards exactness across a checkpoint when the aggregate finds text series by the identity hash the text decoder
// computed while parsing: a restored aggregate computes that hash again from each input's key (seriesIdentityHash).
// Were the two to differ, a restored input would not be found by the next push's points, a new input series would
// start the producer's counter from zero, and its whole cumulative value would count again (100 then 101 would total
// 201). The grouping label here is not a producer label, so the decoder's hash is the one used.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { decodeRecord, type KafkaRecord } from '../../src/decode/index.js';
import { byId, options } from '../aggregate/fixtures.js';

let offset = 0;
function apply(agg: PartitionAggregate, body: string, at: number): void {
  const rec: KafkaRecord = {
    topic: 't',
    partition: 0,
    offset: String(offset++),
    key: null,
    value: Buffer.from(`# TYPE c counter\n# TYPE g gauge\n${body}`),
    headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': 'export', 'prom-relay-producer': 'p1', 'prom-relay-grouping': 'shard=3' },
  };
  const batch = decodeRecord(rec, {});
  if (!('points' in batch)) throw new Error(`not decoded: ${JSON.stringify(batch)}`);
  agg.apply(batch, at);
}

const restored = (agg: PartitionAggregate) => PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), options());

describe('a restored aggregate finds the text series it restored', () => {
  it('the same spelling, another spelling, escapes and an overridden label: the totals go on from the restored baselines', () => {
    const agg = new PartitionAggregate(options());
    apply(agg, 'c{a="1",b="x\\"y"} 100\nc{a="2", shard="9"} 50\ng{z="\\\\"} 7\nc 3\n', 1000);
    agg.collect(1500);
    const again = restored(agg);
    for (const a of [agg, again]) apply(a, 'c{a="1",b="x\\"y"} 101\nc{ shard="1",a="2" } 52\ng{z="\\\\"} 8\nc 4\n', 2000);
    const expected = { 'c{a="1",b="x"y",job="export",shard="3"}': 101, 'c{a="2",job="export",shard="3"}': 52, 'g{job="export",shard="3",z="\\"}': 8, 'c{job="export",shard="3"}': 4 };
    for (const a of [agg, again]) expect(byId(a.collect(3000))).toEqual(expected);
    // and once more after a second restore, in yet another spelling
    const third = restored(again);
    apply(third, 'c{b="x\\"y",a="1"} 105\nc{a="2"} 60\ng{z="\\\\",e=""} 9\nc 10\n', 4000);
    expect(byId(third.collect(5000))).toEqual({ 'c{a="1",b="x"y",job="export",shard="3"}': 105, 'c{a="2",job="export",shard="3"}': 60, 'g{job="export",shard="3",z="\\"}': 9, 'c{job="export",shard="3"}': 10 });
  });
});
