// Guards exactness when a producer writes one series another way between pushes: labels in another order (an
// exporter printing them from a Go map, whose order changes every time), other blanks, an empty label, a label the
// headers override. Text points are looked up by the series as written; a spelling not seen before must find the
// same input series (the producer's counter baseline), not start a new one from zero: 10, 12, 13 is a total of 13,
// not 35. Found by review (2026-12-02).
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { decodeRecord, type KafkaRecord } from '../../src/decode/index.js';
import { hashRun } from '../../src/decode/text-lexing.js';
import { seriesIdentity } from '../../src/decode/identity.js';
import { byId, options } from '../aggregate/fixtures.js';

let offset = 0;
function push(body: string, producer = 'p1', grouping = 'instance=w1'): ReturnType<typeof decodeRecord> {
  const rec: KafkaRecord = {
    topic: 't',
    partition: 0,
    offset: String(offset++),
    key: null,
    value: Buffer.from(body),
    headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': 'export', 'prom-relay-producer': producer, 'prom-relay-grouping': grouping },
  };
  return decodeRecord(rec, {});
}

const apply = (agg: PartitionAggregate, body: string, at: number, producer?: string) => {
  const batch = push(body, producer);
  if (!('points' in batch)) throw new Error(`not decoded: ${JSON.stringify(batch)}`);
  agg.apply(batch, at);
};

describe('a series written another way is the same series', () => {
  it('label order and blanks change between pushes of one producer: the total is the last cumulative value', () => {
    const agg = new PartitionAggregate(options());
    const head = '# TYPE c counter\n';
    apply(agg, `${head}c{a="1",b="2"} 10\n`, 1000);
    apply(agg, `${head}c{b="2",a="1"} 12\n`, 2000);
    apply(agg, `${head}c{a="1", b="2"} 13\n`, 3000);
    apply(agg, `${head}c{ b="2" , a="1", } 15\n`, 4000);
    apply(agg, `${head}c{a="1",b="2",z=""} 16\n`, 5000);
    // the job label in the body is overridden by the header's: the same series
    apply(agg, `${head}c{job="other",b="2",a="1"} 17\n`, 6000);
    expect(byId(agg.collect(7000))).toEqual({ 'c{a="1",b="2",job="export"}': 17 });
    // a second producer counts from zero, in any spelling
    apply(agg, `${head}c{b="2",a="1"} 5\n`, 8000, 'p2');
    apply(agg, `${head}c{a="1",b="2"} 6\n`, 9000, 'p2');
    expect(byId(agg.collect(10_000))).toEqual({ 'c{a="1",b="2",job="export"}': 23 });
  });

  it('holds through a checkpoint: a restored aggregate finds a new spelling of a series it restored', () => {
    const agg = new PartitionAggregate(options());
    const head = '# TYPE c counter\n# TYPE g gauge\n';
    apply(agg, `${head}c{x="1",y="2"} 100\ng{y="2",x="1"} 3\n`, 1000);
    agg.collect(1500);
    const again = PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), options());
    for (const a of [agg, again]) apply(a, `${head}c{y="2",x="1"} 101\ng{x="1",y="2"} 4\n`, 2000);
    for (const a of [agg, again]) {
      expect(byId(a.collect(3000))).toEqual({ 'c{job="export",x="1",y="2"}': 101, 'g{job="export",x="1",y="2"}': 4 });
    }
  });

  it('two series whose identities share a hash stay apart, also when written another way', () => {
    // Found by search: these two identities have one 32-bit identity hash.
    const [a, b] = ['c{a="422789"}', 'c{a="639192"}'];
    const hashOf = (key: string) => {
      const id = seriesIdentity(key, new Set(['job']));
      return hashRun(id, 0, id.length);
    };
    expect(hashOf(a)).toBe(hashOf(b));
    const agg = new PartitionAggregate(options());
    apply(agg, `# TYPE c counter\n${a} 5\n${b} 7\n`, 1000);
    apply(agg, `# TYPE c counter\nc{ a="639192" } 9\nc{ a="422789" } 6\n`, 2000);
    expect(byId(agg.collect(3000))).toEqual({ 'c{a="422789",job="export"}': 6, 'c{a="639192",job="export"}': 9 });
  });
});
