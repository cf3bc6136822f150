// The owner's series are rows of typed columns found through an open-addressing index (src/repartition/combined-table.ts).
// The index must find every series by its id, exactly (a wrong match adds one series' total to another's; a miss makes
// a second series of one id), through deletes (backward shifts), growth, compaction and a series made anew in place of
// another, and keep the order series were first made in (the owner's collect writes them in that order). Ids that
// share a hash — any two of a run, or 1,024 of one hash a producer made — cost a bounded number of comparisons.
import { describe, expect, it } from 'vitest';
import type { Labels } from '@prom-relay/codec';
import { keyHash } from '../../src/aggregate/key-index.js';
import { labelsKey } from '../../src/aggregate/labels.js';
import { CombinedStore } from '../../src/repartition/combined-store.js';
import { CombinedTable } from '../../src/repartition/combined-table.js';

function random(seed: number) {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A table of `total` series whose `value` column holds a number the test gave each row (and `moved` what moved). */
function table() {
  let compared = 0;
  const freed: number[] = [];
  const t = new CombinedTable(
    () => {
      compared++;
      return 'total';
    },
    () => {},
    (row) => freed.push(row),
  );
  return { t, compared: () => compared, resetCompared: () => (compared = 0), freed };
}

describe('CombinedTable', () => {
  it("makes the aux column (a last series' time, an avg's count) only when a row first sets one, and keeps each row's through growth, replacement and compaction", () => {
    const { t } = table();
    const column = () => (t as unknown as { aux: Float64Array | null }).aux;
    const ids: string[] = [];
    const put = (i: number) => {
      const labels: Labels = { __name__: 'm', a: `v${i}` };
      ids[i] = labelsKey(labels);
      const at = t.put(ids[i]!, t.newRow(labels)); // (before t.value is read: a new row may grow the columns)
      t.value[at] = i;
    };
    for (let i = 0; i < 500; i++) put(i);
    for (let i = 0; i < 500; i++) t.setAux(t.find(ids[i]!), 0); // counters write no aux
    expect(column()).toBeNull();
    const want = new Map<number, number>();
    for (let i = 0; i < 500; i += 7) {
      t.setAux(t.find(ids[i]!), i + 0.5);
      want.set(i, i + 0.5);
    }
    expect(column()).not.toBeNull();
    for (let i = 500; i < 5_000; i++) put(i); // growth
    for (let i = 0; i < 5_000; i += 3) {
      if (i % 2 === 0) {
        t.delete(ids[i]!);
        want.delete(i);
      } else {
        put(i); // made anew in the place of the one before: its aux starts at 0
        want.delete(i);
      }
    }
    t.compact();
    for (let i = 0; i < 5_000; i++) {
      const row = t.find(ids[i]!);
      if (i % 3 === 0 && i % 2 === 0) expect(row).toBe(-1);
      else expect([i, t.value[row], t.auxAt(row)]).toEqual([i, i, want.get(i) ?? 0]);
    }
  });

  it('agrees with a Map through random makes, replacements, deletes and compactions, in the order series were first made', () => {
    const next = random(42);
    const { t } = table();
    const model = new Map<string, { labels: Labels; tag: number }>();
    let tag = 0;
    for (let step = 0; step < 40_000; step++) {
      const labels: Labels = { __name__: 'm', a: `v${Math.floor(next() * 3000)}` };
      const id = labelsKey(labels);
      const r = next();
      if (r < 0.55) {
        // made (anew, where the id is held: it takes the held one's place)
        const row = t.newRow(labels);
        t.value[row] = ++tag;
        const at = t.put(id, row);
        expect(t.value[at]).toBe(tag);
        model.set(id, { labels, tag });
      } else if (r < 0.9) {
        expect(t.delete(id)).toBe(model.delete(id));
      } else if (r < 0.99) {
        const row = t.find(id);
        const want = model.get(id);
        if (want === undefined) expect(row).toBe(-1);
        else expect([t.labels[row], t.value[row]]).toEqual([want.labels, want.tag]);
      } else t.compact();
      if (step % 5_000 === 4_999) {
        expect(t.size).toBe(model.size);
        const rows: number[] = [];
        for (let row = 0; row < t.end; row++) if (t.inUse(row)) rows.push(t.value[row]!);
        expect(rows).toEqual([...model.values()].map((v) => v.tag));
        for (const [mid, v] of model) expect(t.value[t.find(mid)]).toBe(v.tag);
      }
    }
    expect(model.size).toBeGreaterThan(1000);
  });

  it('compacts without losing a series, its place or its index entry, and frees what it drops', () => {
    const { t, freed } = table();
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const labels: Labels = { __name__: 'm', i: String(i) };
      ids.push(labelsKey(labels));
      const row = t.newRow(labels);
      t.value[row] = i;
      t.put(ids[i]!, row);
    }
    // The columns grow by a quarter (doubling would hold 8,192 rows' columns for 5,000 series).
    expect(t.value.length).toBeGreaterThanOrEqual(5000);
    expect(t.value.length).toBeLessThanOrEqual(5000 * 1.25);
    for (let i = 0; i < 5000; i++) if (i % 3 !== 0) t.delete(ids[i]!);
    expect(freed.length).toBe(5000 - 1667);
    t.compact();
    expect(t.end).toBe(1667);
    // More than half spare: shrunk to a quarter more than its rows.
    expect(t.value.length).toBe(Math.ceil(1667 * 1.25));
    expect(t.size).toBe(1667);
    for (let i = 0; i < 5000; i++) {
      const row = t.find(ids[i]!);
      if (i % 3 === 0) expect(t.value[row]).toBe(i);
      else expect(row).toBe(-1);
    }
    const order: number[] = [];
    for (let row = 0; row < t.end; row++) if (t.inUse(row)) order.push(t.value[row]!);
    expect(order).toEqual(Array.from({ length: 1667 }, (_, k) => 3 * k));
  });

  describe('under ids a producer made to collide', () => {
    // keyHash takes two UTF-16 units a word: flipping the top bit of the high unit of two words in a row leaves its
    // state unchanged whatever the seed — 1,024 label values of one hash (as in key-index.test.ts). Past BIG_RUN of
    // them on a probe run they go to a map by id: a lookup compares with a handful, not with every one.
    const value = (bits: number) => Array.from({ length: 10 }, (_, p) => ((bits >> p) & 1 ? '\uce00x\uce00y' : '\u4e00x\u4e00y')).join('');
    const labelSets = Array.from({ length: 1024 }, (_, i): Labels => ({ a: value(i) }));
    const ids = labelSets.map((l) => labelsKey(l));

    it('are one hash', () => {
      expect(new Set(ids.map(keyHash)).size).toBe(1);
    });

    it('are all found, replaced and removed, with a bounded number of comparisons each', () => {
      const { t, compared, resetCompared } = table();
      ids.forEach((id, i) => {
        const row = t.newRow(labelSets[i]!);
        t.value[row] = i;
        t.put(id, row);
      });
      expect(t.size).toBe(1024);
      resetCompared();
      ids.forEach((id, i) => expect(t.value[t.find(id)]).toBe(i));
      // At most BIG_RUN (8) comparisons per lookup; without the map, 524,800 in all.
      expect(compared()).toBeLessThanOrEqual(8 * ids.length);
      ids.forEach((id, i) => {
        if (i % 2 === 0) t.delete(id);
        else {
          const row = t.newRow(labelSets[i]!);
          t.value[row] = -i;
          t.put(id, row);
        }
      });
      expect(t.size).toBe(512);
      t.compact();
      ids.forEach((id, i) => {
        const row = t.find(id);
        if (i % 2 === 0) expect(row).toBe(-1);
        else expect(t.value[row]).toBe(-i);
      });
    });
  });

  it('keeps every series its first source past the 32,767 a 16-bit source column holds (widened, through compaction)', () => {
    const store = new CombinedStore();
    const ids: string[] = [];
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const labels: Labels = { __name__: 'm', a: `v${i}` };
      ids[i] = labelsKey(labels);
      const c = store.create(labels, 'total', 1_000 + i, 1_000 + i);
      store.set(ids[i]!, c);
      c.add(`topic/${i}`, 7 * i, 2_000 + i).value = i;
    }
    for (let i = 0; i < n; i += 2) store.delete(ids[i]!);
    store.table.compact();
    for (let i = 1; i < n; i += 2) {
      const c = store.get(ids[i]!)!;
      expect({ src: c.src, offset: c.offset, heard: c.heard }).toEqual({ src: `topic/${i}`, offset: 7 * i, heard: 2_000 + i });
    }
  });

  it("keeps each series' offsets and times exactly in 32 bits: sources 2^40 offsets apart, a relay up for 30 days, through a source leaving, replacement and compaction", () => {
    const store = new CombinedStore();
    const DAY = 86_400_000;
    const ids: string[] = [];
    const want = new Map<string, { offset: number; heard: number; seen: number; src: string }>();
    for (let i = 0; i < 3_000; i++) {
      const labels: Labels = { __name__: 'm', a: `v${i}` };
      ids[i] = labelsKey(labels);
      const t = 30 * DAY + i;
      const c = store.create(labels, 'total', t, t);
      store.set(ids[i]!, c);
      // Two sources: partition 0 of a topic past 2^40 offsets, partition 1 of a young one.
      c.add('p0', 2 ** 40 + i, t).value = i;
      if (i % 3 === 0) c.add('p1', 5 + i, t + 1).value = 1;
      want.set(ids[i]!, { offset: 2 ** 40 + i, heard: t, seen: t, src: 'p0' });
    }
    // A third of the series lose their first source (the second takes its place), a tenth are deleted, a few made anew.
    for (let i = 0; i < 3_000; i += 3) {
      const c = store.get(ids[i]!)!;
      c.remove(c.entry(0));
      want.set(ids[i]!, { offset: 5 + i, heard: 30 * DAY + i + 1, seen: 30 * DAY + i, src: 'p1' });
    }
    for (let i = 1; i < 3_000; i += 10) {
      store.delete(ids[i]!);
      want.delete(ids[i]!);
    }
    for (let i = 2; i < 3_000; i += 100) {
      const c = store.create({ __name__: 'm', a: `v${i}` }, 'total', 40 * DAY, 40 * DAY);
      store.set(ids[i]!, c);
      c.add('p0', 2 ** 40 + 10_000 + i, 40 * DAY + 1);
      want.set(ids[i]!, { offset: 2 ** 40 + 10_000 + i, heard: 40 * DAY + 1, seen: 40 * DAY, src: 'p0' });
    }
    store.table.compact();
    expect(store.size).toBe(want.size);
    for (const [id, w] of want) {
      const c = store.get(id)!;
      expect({ offset: c.offset, heard: c.heard, seen: c.seen, src: c.src }).toEqual(w);
    }
    expect([store.table.offset.narrow, store.table.heard.narrow, store.table.seen.narrow]).toEqual([true, true, true]);
  });
});
