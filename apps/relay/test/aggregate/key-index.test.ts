// Output series and the owner's combined series keep no key string (src/aggregate/key-index.ts): their key is built
// from their labels (keyOfLabels) and compared with them in place (labelsMatchKey). Both must agree with labelsKey,
// the key every relay writes, for every value a label can hold; a wrong "match" would add one series' counts to
// another's total, a missed one would make a second series of one key. The index must keep every series of one hash
// found, counted, replaceable and removable, also past a bucket's list (a map by key).
import { describe, expect, it } from 'vitest';
import { KeyIndex, keyHash } from '../../src/aggregate/key-index.js';
import { keyOfLabels, labelsKey, labelsMatchKey, ownedSortedLabels } from '../../src/aggregate/labels.js';
import type { Labels } from '@prom-relay/codec';

const TRICKY = ['', 'ok', 'v1",b="v2', 'v1",z="v3', 'a"b', 'a\\b', '\\n', '\n', 'tab\there', '\u0001', 'x=1,y="2"', '",b="c', 'a",b="c', 'é', '日本', '\ud83d\ude00', '\ud800', 'z\udfff', '\u2028', '{}', ','];

function random(seed: number) {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function randomLabels(next: () => number): Labels {
  const names = ['__name__', 'a', 'b', 'ab', 'job', 'le', 'z'];
  const out: Record<string, string> = {};
  for (const name of names) {
    if (next() < 0.4) continue;
    out[name] = next() < 0.6 ? TRICKY[Math.floor(next() * TRICKY.length)]! : `v${Math.floor(next() * 5)}`;
  }
  return ownedSortedLabels(out);
}

describe('keys built from labels', () => {
  it('keyOfLabels is labelsKey for sorted labels, whatever the values hold', () => {
    const next = random(7);
    for (let i = 0; i < 3000; i++) {
      const labels = randomLabels(next);
      expect(keyOfLabels(labels)).toBe(labelsKey(labels));
    }
  });

  it('labelsMatchKey says yes exactly for the labels whose key it is', () => {
    const next = random(11);
    const sets = Array.from({ length: 400 }, () => randomLabels(next));
    let matches = 0;
    for (const a of sets) {
      for (let j = 0; j < 40; j++) {
        const b = sets[Math.floor(next() * sets.length)]!;
        const same = labelsKey(a) === labelsKey(b);
        if (same) matches++;
        expect(labelsMatchKey(a, labelsKey(b), 0)).toBe(same);
      }
      expect(labelsMatchKey(a, labelsKey(a), 0)).toBe(true);
      // after a prefix, as the modes' keys are
      expect(labelsMatchKey(a, 'sum\u0000' + labelsKey(a), 4)).toBe(true);
    }
    expect(matches).toBeGreaterThan(0);
  });

  it('a value that spells the next label, or an escape, does not match', () => {
    expect(labelsKey({ a: 'x', b: 'y' })).toBe('a="x",b="y",');
    expect(labelsMatchKey({ a: 'x",b="y' }, labelsKey({ a: 'x', b: 'y' }), 0)).toBe(false);
    expect(labelsMatchKey({ a: 'x', b: 'y' }, labelsKey({ a: 'x",b="y' }), 0)).toBe(false);
    expect(labelsMatchKey({ x: '\\n' }, labelsKey({ x: '\n' }), 0)).toBe(false);
    expect(labelsMatchKey({ x: '\n' }, labelsKey({ x: '\\n' }), 0)).toBe(false);
    expect(labelsMatchKey({ x: 'a' }, labelsKey({ xy: 'a' }), 0)).toBe(false);
    expect(labelsMatchKey({ x: 'a' }, labelsKey({ x: 'a', y: 'b' }), 0)).toBe(false);
    expect(labelsMatchKey({ x: 'a', y: 'b' }, labelsKey({ x: 'a' }), 0)).toBe(false);
    expect(labelsMatchKey({ x: '\ud800' }, labelsKey({ x: '\ud800' }), 0)).toBe(true);
  });
});

describe('KeyIndex', () => {
  interface Item {
    labels: Labels;
  }
  const item = (v: string): Item => ({ labels: { a: v } });
  const keyOf = (i: Item) => keyOfLabels(i.labels);
  const matches = (i: Item, key: string) => labelsMatchKey(i.labels, key, 0);

  it('keeps series of one hash found, counted, replaced and removed, in a list and past it in a map', () => {
    for (const n of [1, 2, 5, 8, 9, 20]) {
      const index = new KeyIndex<Item>(matches, () => 42);
      const items = Array.from({ length: n }, (_, i) => item(`v${i}`));
      for (const i of items) index.set(keyOf(i), i);
      expect(index.size).toBe(n);
      for (const i of items) expect(index.get(keyOf(i))).toBe(i);
      expect(index.get(keyOf(item('none')))).toBeUndefined();
      expect(new Set(index.values())).toEqual(new Set(items));
      // the same key again replaces
      const again = item('v0');
      index.set(keyOf(again), again);
      expect(index.size).toBe(n);
      expect(index.get(keyOf(again))).toBe(again);
      // removing while iterating: each one yielded, then gone
      let seen = 0;
      for (const i of index.values()) {
        seen++;
        expect(index.delete(keyOf(i))).toBe(true);
        expect(index.get(keyOf(i))).toBeUndefined();
      }
      expect(seen).toBe(n);
      expect(index.size).toBe(0);
      expect([...index.values()]).toEqual([]);
      expect(index.delete(keyOf(again))).toBe(false);
    }
  });

  it('agrees with a Map through random sets, replacements and removals, during walks and after, in the order first set', () => {
    const next = random(3);
    const index = new KeyIndex<Item>(matches);
    const model = new Map<string, Item>();
    for (let step = 0; step < 30_000; step++) {
      const it = item(`v${Math.floor(next() * 2000)}`);
      const key = keyOf(it);
      const r = next();
      if (r < 0.5) {
        index.set(key, it);
        model.set(key, it);
      } else if (r < 0.9) expect(index.delete(key)).toBe(model.delete(key));
      else if (r < 0.98) expect(index.get(key)).toBe(model.get(key));
      else {
        // a walk that removes about half of what it meets, as a collect's expiry does
        for (const seen of index.values()) {
          if (next() < 0.5) {
            index.delete(keyOf(seen));
            model.delete(keyOf(seen));
          }
        }
      }
      if (step % 3_000 === 2_999) {
        expect(index.size).toBe(model.size);
        expect([...index.values()]).toEqual([...model.values()]);
      }
    }
  });

  it('finds every series as positions pass what a byte and two bytes of slot hold, and after compaction narrows them again', () => {
    // Slots are a byte wide while positions stay below 255, two below 65,535 (hash-slots.ts): a slot too narrow for
    // its position would find another series, or none.
    const index = new KeyIndex<Item>(matches);
    const items = Array.from({ length: 70_000 }, (_, i) => item(`v${i}`));
    const checkAll = (live: (i: number) => boolean) => {
      for (let i = 0; i < items.length; i += i < 300 ? 1 : 7) {
        expect(index.get(keyOf(items[i]!))).toBe(live(i) ? items[i] : undefined);
      }
    };
    for (let i = 0; i < items.length; i++) {
      index.set(keyOf(items[i]!), items[i]!);
      if (i === 254 || i === 255 || i === 65_534 || i === 65_535) checkAll((j) => j <= i);
    }
    checkAll(() => true);
    // Keep every 200th: the walk's compaction renumbers them to positions 0..349 (two bytes, no longer four).
    for (const it of index.values()) if (Number(it.labels.a!.slice(1)) % 200 !== 0) index.delete(keyOf(it));
    expect(index.size).toBe(350);
    checkAll((i) => i % 200 === 0);
    for (let i = 0; i < 400; i++) index.set(keyOf(items[i]!), items[i]!);
    checkAll((i) => i % 200 === 0 || i < 400);
    expect([...index.values()].length).toBe(350 + 398);
  });

  it('hashes keys of one length and one word apart to different values', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) seen.add(keyHash(`a="v${i}",b="ok",`));
    expect(seen.size).toBe(5000);
    expect(keyHash('ab')).not.toBe(keyHash('ab\u0000'));
  });
});

describe('an owner and keys', () => {
  it('refuses a partial whose key is not the one its labels make (it could not be found by it again), and finds each canonical one once', async () => {
    const { SeriesCombiner } = await import('../../src/repartition/index.js');
    const c = new SeriesCombiner({ ttlMs: 60_000 });
    const bad = 'a="\\u0041",';
    expect(JSON.parse(bad.slice(2, -1))).toBe('A');
    expect(() => c.apply({ kind: 'partials', source: 'in/0', offset: 1, series: [{ key: bad, combine: 'total', value: 1, stale: false }] }, 1000)).toThrow(/not in canonical form/);
    const key = labelsKey({ __name__: 'x_total', a: 'A"\\\n' });
    for (const [offset, value] of [[2, 1], [3, 5]] as const) c.apply({ kind: 'partials', source: 'in/0', offset, series: [{ key, combine: 'total', value, stale: false }] }, 1000 + offset);
    expect(c.seriesCount).toBe(1);
    expect(c.collect(2000).map((s) => s.value)).toEqual([5]);
  });
});

describe('KeyIndex under keys a producer made to collide', () => {
  // keyHash takes two UTF-16 units a word: flipping the top bit of the high unit of two words in a row leaves its
  // state unchanged (x ^ 2^31 times an odd prime is the product ^ 2^31), whatever the seed — so a producer can write
  // 2^k label values of one hash (here 1,024, with two CJK characters a flip apart). Past 8 of them on a probe run they
  // are a map by key (hash-slots.ts): each lookup compares with at most 8, not with every one of them.
  const value = (bits: number) => Array.from({ length: 10 }, (_, p) => ((bits >> p) & 1 ? '\uce00x\uce00y' : '\u4e00x\u4e00y')).join('');
  const keys = Array.from({ length: 1024 }, (_, i) => labelsKey({ a: value(i) }));

  it('are one hash', () => {
    expect(new Set(keys.map(keyHash)).size).toBe(1);
  });

  it('are all found, replaced and removed, with a bounded number of comparisons each', () => {
    let compared = 0;
    const index = new KeyIndex<{ labels: Labels }>((item, key) => {
      compared++;
      return labelsMatchKey(item.labels, key, 0);
    });
    const items = keys.map((_, i) => ({ labels: { a: value(i) } }));
    keys.forEach((k, i) => index.set(k, items[i]!));
    expect(index.size).toBe(1024);
    compared = 0;
    keys.forEach((k, i) => expect(index.get(k)).toBe(items[i]));
    // At most 8 comparisons a lookup; without the map, 524,800 in all.
    expect(compared).toBeLessThanOrEqual(8 * keys.length);
    keys.forEach((k, i) => (i % 2 === 0 ? index.delete(k) : index.set(k, items[i]!)));
    expect(index.size).toBe(512);
    keys.forEach((k, i) => expect(index.get(k)).toBe(i % 2 === 0 ? undefined : items[i]));
  });
});
