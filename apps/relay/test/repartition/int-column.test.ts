// The owner keeps a series' offset and times as 32-bit differences from a base per source (src/repartition/int-column.ts).
// Whatever the values (offsets past 2^33, sources whose offsets lie 2^40 apart, times that grow for months, a value no
// whole number), every row must read back exactly what was written: a wrong offset makes the owner take a replayed
// partial for news (a total counted twice) or drop a new one.
import { describe, expect, it } from 'vitest';
import { IntColumn } from '../../src/repartition/int-column.js';

function random(seed: number) {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A column over `rows` rows, each in the group `group[row]`, every row in use but those `free` says. */
function column(rows: number, group: number[], free = new Set<number>()) {
  return new IntColumn(
    rows,
    (row) => group[row]!,
    () => rows,
    (row) => !free.has(row),
  );
}

describe('IntColumn', () => {
  it('holds values far from 0 (offsets past 2^33, times of a relay up for months) in 32 bits, exactly', () => {
    const group = [0, 0, 0, 1, 1];
    const c = column(5, group);
    const values = [2 ** 33 + 1, 2 ** 33 + 70_000, 2 ** 33, 5e9 + 3, 5e9 - 2 ** 30];
    values.forEach((v, row) => c.set(row, group[row]!, v));
    expect(values.map((_, row) => c.at(row, group[row]!))).toEqual(values);
    expect(c.narrow).toBe(true);
  });

  it('gives each group its own base: sources whose offsets lie 2^40 apart stay in 32 bits', () => {
    const group = [0, 1, 2, 1, 0, 2];
    const c = column(6, group);
    const values = [0, 2 ** 40, 2 ** 45 + 7, 2 ** 40 + 123_456, 1_000, 2 ** 45];
    values.forEach((v, row) => c.set(row, group[row]!, v));
    expect(values.map((_, row) => c.at(row, group[row]!))).toEqual(values);
    expect(c.narrow).toBe(true);
  });

  it('moves a group’s base as its values grow past 2^31 of the first (a month of ms, billions of offsets), the other rows exact', () => {
    const rows = 100;
    const group = Array.from({ length: rows }, (_, r) => r % 2);
    const c = column(rows, group);
    const want: number[] = [];
    const next = random(7);
    // Row by row, values rising by up to 2^27 each time across 10 rounds: the newest is ~2^33 past the first, while
    // every row's value stays within a span of 2^30 of the newest (the rows are all rewritten each round).
    for (let round = 0; round < 10; round++) {
      for (let r = 0; r < rows; r++) {
        const v = 2 ** 34 + round * 2 ** 30 + Math.floor(next() * 2 ** 27) + r;
        want[r] = v;
        c.set(r, group[r]!, v);
        for (let k = 0; k <= r; k += 17) expect(c.at(k, group[k]!)).toBe(want[k]);
      }
    }
    expect(want.map((_, r) => c.at(r, group[r]!))).toEqual(want);
    expect(c.narrow).toBe(true);
  });

  it('holds doubles from the moment a group spans more than 3 * 2^30, or a value is no whole number: still exact', () => {
    const group = [0, 0, 0];
    const c = column(3, group);
    c.set(0, 0, 10);
    c.set(1, 0, 10 + 3 * 2 ** 30);
    expect(c.narrow).toBe(true);
    c.set(2, 0, 10 - 2 ** 29);
    expect(c.narrow).toBe(false);
    expect([0, 1, 2].map((r) => c.at(r, 0))).toEqual([10, 10 + 3 * 2 ** 30, 10 - 2 ** 29]);

    const d = column(3, group);
    d.set(0, 0, 2 ** 40);
    d.set(1, 0, 2 ** 40 + 0.5);
    d.set(2, 0, NaN);
    expect(d.narrow).toBe(false);
    expect(d.at(0, 0)).toBe(2 ** 40);
    expect(d.at(1, 0)).toBe(2 ** 40 + 0.5);
    expect(d.at(2, 0)).toBeNaN();
  });

  it('a group spans only its rows in use: a freed row far away neither widens the column nor is rewritten into range', () => {
    const group = [0, 0, 0];
    const free = new Set<number>();
    const c = column(3, group, free);
    c.set(0, 0, 0);
    c.set(1, 0, 2 ** 31 - 1);
    free.add(0);
    c.set(2, 0, 2 ** 32);
    expect(c.narrow).toBe(true);
    expect(c.at(1, 0)).toBe(2 ** 31 - 1);
    expect(c.at(2, 0)).toBe(2 ** 32);
  });

  it('reads back every value written, against a plain array, through random writes across groups, rows freed, growth and copies', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const next = random(seed);
      let rows = 8;
      const group: number[] = [];
      const free = new Set<number>();
      const want: number[] = [];
      const c = new IntColumn(
        rows,
        (row) => group[row]!,
        () => rows,
        (row) => !free.has(row),
      );
      const center = [0, 2 ** 40, 2 ** 33, 5e9];
      for (let r = 0; r < rows; r++) {
        group[r] = r % 4;
        c.clear(r, group[r]!);
        want[r] = NaN;
        free.add(r);
      }
      for (let step = 0; step < 3_000; step++) {
        const r = Math.floor(next() * rows);
        const action = next();
        if (action < 0.02 && rows < 64) {
          c.resize(rows * 2);
          for (let k = rows; k < rows * 2; k++) {
            group[k] = k % 4;
            c.clear(k, group[k]!);
            want[k] = NaN;
            free.add(k);
          }
          rows *= 2;
        } else if (action < 0.06) {
          free.add(r);
        } else if (action < 0.1) {
          // (A compaction: a row's value and group move to another row.)
          const to = Math.floor(next() * rows);
          c.copy(r, to);
          group[to] = group[r]!;
          want[to] = want[r]!;
          if (free.has(r)) free.add(to);
          else free.delete(to);
        } else {
          // Values around their group's center, drifting up over the run (2^20 a step at most: ~2^31.5 in all).
          const g = group[r]!;
          const v = center[g]! + step * 2 ** 20 * (next() < 0.5 ? 1 : 0.5) + Math.floor(next() * 2 ** 24);
          c.set(r, g, Math.floor(v));
          want[r] = Math.floor(v);
          free.delete(r);
          // (Rows 2^30 behind their group's newest expire, as the owner's series do after their ttl.)
          for (let k = 0; k < rows; k++) if (group[k] === g && want[k]! < v - 2 ** 30) free.add(k);
        }
        if (step % 50 === 0) for (let k = 0; k < rows; k++) if (!free.has(k)) expect(c.at(k, group[k]!)).toBe(want[k]);
      }
      for (let k = 0; k < rows; k++) if (!free.has(k)) expect(c.at(k, group[k]!)).toBe(want[k]);
      expect(c.narrow).toBe(true);
    }
  });
});
