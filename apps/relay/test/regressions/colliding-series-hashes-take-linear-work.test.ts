// Guards "no input can stall the relay" against series written to share one identity hash. The hash that finds a
// series (the text decoder's, FNV-1a based) is not a secret: a producer can write thousands of series of one hash
// (test/lib/hash-collisions.ts makes 4,096 in about a second). The decoder's duplicate check compared the identities
// of every pair with equal hashes (quadratic: 2,048 such lines took 1.2 s of CPU, 8,192 about 20 s), and the aggregate
// kept inputs of one hash in a list it scanned on every lookup (2,048 new series 0.7 s). Now the duplicate check
// gives up on hashes that crowd its table and compares identities in a Set, and a scope turns a crowded hash into a
// map by identity: the identities built stay linear in the series (counted, not timed).
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { decodeRecord, type KafkaRecord } from '../../src/decode/index.js';
import { identitiesBuiltSoFar } from '../../src/decode/identity.js';
import { byId, options } from '../aggregate/fixtures.js';
import { collidingValues, fnv1a } from '../lib/hash-collisions.js';

const values = collidingValues(12);

function record(lines: string[], seq: number): KafkaRecord {
  return {
    topic: 't',
    partition: 0,
    offset: String(seq),
    key: null,
    value: Buffer.from(`# TYPE m counter\n${lines.join('\n')}\n`),
    headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': 'j', 'prom-relay-producer': 'p', 'prom-relay-grouping': 'shard=1', 'prom-relay-seq': String(seq) },
  };
}

function decoded(lines: string[], seq: number) {
  const batch = decodeRecord(record(lines, seq), {});
  if (!('points' in batch)) throw new Error(`not decoded: ${JSON.stringify(batch).slice(0, 300)}`);
  return batch;
}

describe('series sharing one identity hash', () => {
  it('are 4,096 distinct values of one FNV-1a hash', () => {
    expect(values).toHaveLength(4096);
    expect(new Set(values).size).toBe(4096);
    expect(new Set(values.map((v) => fnv1a(v))).size).toBe(1);
  });

  it('decode with identities built linearly, and a duplicate among them is still refused', () => {
    const lines = values.map((v, i) => `m{a="${v}"} ${i}`);
    const before = identitiesBuiltSoFar();
    const batch = decoded(lines, 1);
    expect(batch.points).toHaveLength(4096);
    expect(identitiesBuiltSoFar() - before).toBeLessThan(2 * 4096);
    expect(() => decodeRecord(record([...lines, `m{ a="${values[17]}" } 5`], 2), {})).toThrow(expect.objectContaining({ code: 'PROM_RELAY_DECODE_DUPLICATE' }));
  });

  it('aggregate with identities built linearly, new, pushed again in another order, respelled and restored', () => {
    const agg = new PartitionAggregate(options({ limits: { maxSeries: 10_000, maxLabelsPerSeries: 30, maxLabelValueLength: 200 } }));
    const first = decoded(values.map((v, i) => `m{a="${v}"} ${i}`), 1);
    const second = decoded(values.map((v, i) => `m{a="${v}"} ${i + 1}`).reverse(), 2);
    const third = decoded(values.map((v, i) => `m{ a = "${v}" , } ${i + 3}`), 3);
    const before = identitiesBuiltSoFar();
    agg.apply(first, 1000);
    agg.apply(second, 2000);
    agg.apply(third, 3000);
    expect(identitiesBuiltSoFar() - before).toBeLessThan(3 * 3 * 4096);
    const totals = byId(agg.collect(4000));
    expect(Object.keys(totals)).toHaveLength(4096);
    expect(totals[`m{a="${values[100]}",job="j",shard="1"}`]).toBe(103);
    // a restored aggregate finds them all again (its index is built anew from the keys)
    const again = PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), options());
    again.apply(decoded(values.map((v, i) => `m{a="${v}"} ${i + 10}`), 4), 5000);
    const after = byId(again.collect(6000));
    expect(Object.keys(after)).toHaveLength(4096);
    expect(after[`m{a="${values[100]}",job="j",shard="1"}`]).toBe(110);
  });
});
