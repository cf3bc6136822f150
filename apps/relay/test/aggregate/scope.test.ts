// A scope's index of input series (src/aggregate/scope.ts), on its own: series that share one identity hash (more than
// a bucket's list holds, so the bucket is a map by identity), and two spellings of one series as two inputs, as a
// checkpoint written before spellings were one series holds them: each input stays found, counted, iterated and
// removable (a lost one would be left out of the next checkpoint while producers still point at it).
import { describe, expect, it } from 'vitest';
import { internedTailCount } from '../../src/aggregate/labels.js';
import { InputSeries, Scope } from '../../src/aggregate/series.js';
import { identitiesBuiltSoFar, labelsKeyIdentity, labelsKeyIdentityHash } from '../../src/decode/identity.js';
import type { InputPoint } from '../../src/model.js';
import { collidingValues } from '../lib/hash-collisions.js';

const values = collidingValues(4); // 16 values of one hash
const input = (key: string) => new InputSeries(key, 'm', 'counter', 1, null);
const textPoint = (key: string) => ({ key }) as InputPoint;

describe('Scope', () => {
  it('keeps every input of one hash, and two spellings of one series, found, counted and removable', () => {
    const scope = new Scope('j\u0000shard\u00001');
    const inputs = values.map((v) => input(`m{a="${v}"}`));
    for (const i of inputs) scope.add(i);
    const respelled = input(`m{ a="${values[0]}" }`);
    scope.add(respelled);
    expect(scope.size).toBe(17);
    const all = [...scope.values()];
    expect(all).toHaveLength(17);
    expect(new Set(all)).toEqual(new Set([...inputs, respelled]));
    for (const i of all) {
      expect(scope.has(i)).toBe(true);
      expect(scope.get(i.key)).toBe(i);
    }
    // a third spelling finds one of the two (the first), a new series nothing
    expect(scope.find(`m{a = "${values[0]}"}`, textPoint(`m{a = "${values[0]}"}`))).toBe(inputs[0]);
    expect(scope.find(`m{a="${values[0]}x"}`, textPoint(`m{a="${values[0]}x"}`))).toBeUndefined();
    expect(scope.find(`m{a="${values[5]}"}`, textPoint(`m{a="${values[5]}"}`))).toBe(inputs[5]);
    scope.remove(respelled);
    expect(scope.size).toBe(16);
    expect(scope.has(respelled)).toBe(false);
    expect(scope.has(inputs[0]!)).toBe(true);
    for (const i of inputs) scope.remove(i);
    expect(scope.size).toBe(0);
    expect([...scope.values()]).toEqual([]);
  });

  it('finds a series written as text by its labels key and back (one series whatever format carried it)', () => {
    const scope = new Scope('j\u0000shard\u00001');
    const text = input('m{b="2",a="1"}');
    scope.add(text);
    // Remote Write / JSON lines: job and the grouping labels in the key, left out of the identity as in text
    expect(scope.find('__name__="m",a="1",b="2",job="j",shard="1",')).toBe(text);
    expect(scope.find('__name__="m",a="1",b="2",e="",')).toBe(text);
    expect(scope.find('__name__="m",a="1",b="3",')).toBeUndefined();
    expect(scope.find('__name__="m",a="1",')).toBeUndefined();
    const derived = input('__name__="n",a="x\\"y\\\\z\\n",');
    scope.add(derived);
    expect(scope.find('n{a="x\\"y\\\\z\\n"}', textPoint('n{a="x\\"y\\\\z\\n"}'))).toBe(derived);
    expect(scope.find('n{a="x\\"y"}', textPoint('n{a="x\\"y"}'))).toBeUndefined();
    expect(scope.size).toBe(2);
  });

  it('two forms of one series as two inputs (a checkpoint written before they were one series): each found by its own key', () => {
    const scope = new Scope('j');
    const text = input('m{a="1"}');
    const derived = input('__name__="m",a="1",');
    scope.add(text);
    scope.add(derived);
    expect(scope.find('__name__="m",a="1",')).toBe(derived);
    expect(scope.find('m{a="1"}', textPoint('m{a="1"}'))).toBe(text);
    // another spelling finds the first of the two
    expect(scope.find('m{ a="1" }', textPoint('m{ a="1" }'))).toBe(text);
    expect(scope.find('__name__="m",a="1",z="",')).toBe(text);
    expect(scope.size).toBe(2);
    for (const i of [text, derived]) {
      expect(scope.has(i)).toBe(true);
      expect(scope.get(i.key)).toBe(i);
    }
    // in a bucket grown into a map by identity too
    for (const v of values) scope.add(input(`m{a="${v}"}`));
    for (const v of values) scope.add(input(`__name__="m",a=${JSON.stringify(v)},`));
    expect(scope.size).toBe(2 + 32);
    expect(scope.find(`__name__="m",a=${JSON.stringify(values[3])},`)?.key).toBe(`__name__="m",a=${JSON.stringify(values[3])},`);
    expect(scope.find(`__name__="m",a=${JSON.stringify(values[3])},z="",`)?.key).toBe(`m{a="${values[3]}"}`);
    for (const i of [...scope.values()]) {
      expect(scope.has(i)).toBe(true);
      scope.remove(i);
    }
    expect(scope.size).toBe(0);
  });

  it('keeps the last other key an input was found by (one per input): found again building nothing, forgotten with the input', () => {
    const scope = new Scope('j');
    const text = input('m{a="1",b="2"}');
    scope.add(text);
    const rw = '__name__="m",a="1",b="2",job="j",';
    expect(scope.find(rw)).toBe(text);
    let before = identitiesBuiltSoFar();
    expect(scope.find(rw)).toBe(text);
    scope.remember(0, text);
    expect(scope.at(0, rw)).toBe(text);
    expect(identitiesBuiltSoFar() - before).toBe(0);
    // another spelling replaces it: the first is found by identity again (and kept again)
    expect(scope.find('m{b="2",a="1"}', textPoint('m{b="2",a="1"}'))).toBe(text);
    expect(scope.at(0, rw)).toBeUndefined();
    before = identitiesBuiltSoFar();
    expect(scope.find(rw)).toBe(text);
    expect(identitiesBuiltSoFar() - before).toBe(2);
    // gone with the input: the key names no series any more
    scope.remove(text);
    expect(scope.find(rw)).toBeUndefined();
    const again = input(rw);
    scope.add(again);
    expect(scope.find(rw)).toBe(again);
    expect(scope.find('m{b="2",a="1"}', textPoint('m{b="2",a="1"}'))).toBe(again);
    expect(scope.size).toBe(1);
  });

  it('reads keys no labelsKey wrote (a damaged checkpoint) without throwing', () => {
    const scope = new Scope('j');
    const odd = ['a=zz', 'a="x', 'a="\\u12",', 'a=', '__name__="m",a="\\q",'].map(input);
    for (const i of odd) scope.add(i);
    for (const v of values) scope.add(input(`__name__="m",a=${JSON.stringify(v)},`));
    for (const i of odd) expect(scope.has(i)).toBe(true);
    expect(scope.size).toBe(odd.length + values.length);
    // what a crowded bucket or a lookup by identity would read of them
    for (const i of odd) {
      expect(() => labelsKeyIdentity(i.key, new Set(['job']))).not.toThrow();
      expect(Number.isInteger(labelsKeyIdentityHash(i.key, new Set(['job'])))).toBe(true);
    }
  });

  it('inputs made one after another share the start of their keys: each found by its key as written, its key whole', () => {
    const scope = new Scope('j');
    const keys = Array.from({ length: 120 }, (_, s) => `bytes_processed_total{shard="shard-7",partition_key="key-${s}",status="ok"}`);
    const made: InputSeries[] = [];
    for (const k of keys) {
      expect(scope.find(k, textPoint(k))).toBeUndefined();
      const i = new InputSeries(k, 'bytes_processed_total', 'counter', 1, null, scope.keyHead(k));
      scope.add(i);
      made.push(i);
    }
    // all but the first share a head (one string: what they share is not kept once per input)
    expect(made[0]!.keyHead.length).toBe(0);
    for (const i of made.slice(1)) expect(i.keyHead.length).toBeGreaterThanOrEqual('bytes_processed_total{shard="shard-7",partition_key="key-'.length - 1);
    made.forEach((i, s) => {
      expect(i.key).toBe(keys[s]);
      expect(scope.get(keys[s]!)).toBe(i);
      expect(scope.find(keys[s]!, textPoint(keys[s]!))).toBe(i);
      expect(scope.has(i)).toBe(true);
      scope.remember(s, i);
    });
    // the same push again: each at its position; a key of another shard, of the same length and tail, is not
    const other = (s: number) => keys[s]!.replace('shard-7', 'shard-8');
    made.forEach((i, s) => {
      expect(scope.at(s, keys[s]!)).toBe(i);
      expect(i.keyIs(other(s))).toBe(false);
      expect(scope.at(s, other(s))).toBeUndefined();
      expect(scope.find(other(s), textPoint(other(s)))).toBeUndefined();
    });
    // longer, shorter, a head alone, a key with the head at another place: none is one of them
    const i5 = made[5]!;
    for (const k of [keys[5] + ' ', keys[5]!.slice(0, -1), keys[5]!.slice(0, i5.keyHead.length), 'x' + keys[5]!.slice(1)]) expect(i5.keyIs(k)).toBe(false);
    expect(scope.size).toBe(120);
    for (const i of made) scope.remove(i);
    expect(scope.size).toBe(0);
  });

  it('keys that share a start with the input made before or nothing, made and removed in any order, stay found by their own key', () => {
    // Keys from a small alphabet share long and short starts with their neighbours (heads made, kept, replaced); a
    // key may be the start of another, or equal a head. Checked against a Map of key -> input at every step.
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const keyOf = () => {
      const n = 1 + rnd(40);
      let k = '';
      for (let c = 0; c < n; c++) k += 'ab"{=,'[rnd(rnd(3) === 0 ? 6 : 2)];
      return k;
    };
    const scope = new Scope('j');
    const byKey = new Map<string, InputSeries>();
    for (let step = 0; step < 4000; step++) {
      const k = keyOf();
      const held = byKey.get(k);
      if (held !== undefined) {
        expect(scope.get(k)).toBe(held);
        if (rnd(3) === 0) {
          scope.remove(held);
          byKey.delete(k);
          expect(scope.get(k)).toBeUndefined();
        }
        continue;
      }
      expect(scope.get(k)).toBeUndefined();
      const i = new InputSeries(k, 'm', 'counter', 1, null, scope.keyHead(k));
      expect(i.key).toBe(k);
      scope.add(i);
      byKey.set(k, i);
    }
    expect(scope.size).toBe(byKey.size);
    expect([...byKey.values()].some((i) => i.keyHead.length > 0)).toBe(true);
    for (const [k, i] of byKey) {
      expect(scope.get(k)).toBe(i);
      expect(i.key).toBe(k);
      for (const [k2, i2] of [[k + 'a', i], [k.slice(1), i]] as const) if (!byKey.has(k2)) expect(i2.keyIs(k2)).toBe(false);
    }
    expect(new Set([...scope.values()])).toEqual(new Set(byKey.values()));
  });

  it("shares the tails (last labels) the inputs of a job's producers repeat, and finds every input by its key past the cache's cap", () => {
    const scope = new Scope('j');
    const before = internedTailCount();
    const made: Array<[string, InputSeries]> = [];
    for (let shard = 0; shard < 20; shard++) {
      for (let s = 0; s < 120; s++) {
        const k = `files_written_total{dir="/data/d-${shard}",partition_file="file-${s}",kind="parquet"}`;
        const i = new InputSeries(k, 'files_written_total', 'counter', 1, null, scope.keyHead(k));
        scope.add(i);
        made.push([k, i]);
      }
    }
    // 2,380 inputs with a head, ~120 distinct tails (`7",kind="parquet"}`): one string each, not one per input
    expect(made.filter(([, i]) => i.keyHead.length > 0).length).toBeGreaterThan(2_300);
    expect(internedTailCount() - before).toBeGreaterThanOrEqual(100);
    expect(internedTailCount() - before).toBeLessThanOrEqual(130);
    // Tails that never repeat: the cache clears at its cap; every input keeps its own key, found by it.
    const unique = new Scope('u');
    const many: Array<[string, InputSeries]> = [];
    for (let n = 0; n < 70_000; n++) {
      const k = `requests_total{path="/api/v1/items",request_id="${n.toString(36)}-${(n * 7919).toString(36)}"}`;
      const i = new InputSeries(k, 'requests_total', 'counter', 1, null, unique.keyHead(k));
      unique.add(i);
      many.push([k, i]);
    }
    expect(internedTailCount()).toBeLessThanOrEqual(65_536);
    for (const [k, i] of [...made, ...many]) {
      expect(i.key).toBe(k);
      expect(unique.get(k) ?? scope.get(k)).toBe(i);
    }
  });
});
