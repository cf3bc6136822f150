// A number per input of a producer scope (input-numbers.ts: counter baselines, sample times): a window of inputs by id
// beside a map, answering as a Map would.
import { describe, expect, it } from 'vitest';
import { InputNumbers } from '../../src/aggregate/input-numbers.js';
import type { InputSeries } from '../../src/aggregate/series.js';
import { rng } from './fixtures.js';

/** An input as InputNumbers sees one: its id and its identity (ids may repeat: they wrap). */
const input = (id: number) => ({ id }) as InputSeries;

function entries(b: InputNumbers): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  b.forEach((v, i) => out.push([i.id, v]));
  return out;
}

describe('InputNumbers', () => {
  it('answers as a Map does under random sets, deletes (some during a walk), tidies, fits and ids that repeat', () => {
    const next = rng(7);
    const rand = (n: number) => Math.floor(next() * n);
    for (let round = 0; round < 40; round++) {
      const b = new InputNumbers();
      const model = new Map<InputSeries, number>();
      // Mostly nearby ids (a producer's series), some far ones, some sharing an id with another input (a wrap).
      const pool: InputSeries[] = [];
      const start = rand(1 << 30);
      for (let i = 0; i < 200; i++) pool.push(input(i % 10 === 9 ? rand(1 << 30) : (start + (i < 150 ? i : rand(400) - 100)) & 0x3fffffff));
      for (let i = 0; i < 20; i++) pool.push(input(pool[rand(150)]!.id));
      for (let step = 0; step < 2000; step++) {
        const x = pool[rand(pool.length)]!;
        const op = rand(10);
        if (op < 6) {
          const v = rand(3) === 0 ? rand(1000) + 0.5 : rand(1000);
          b.set(x, v);
          model.set(x, v);
        } else if (op < 8) {
          expect(b.delete(x)).toBe(model.delete(x));
        } else if (op === 8) {
          // Deletes while walking, as expiry does, then a tidy.
          b.forEach((v, i) => {
            if (v % 3 === 0) {
              b.delete(i);
              model.delete(i);
            }
          });
          b.tidy();
        } else {
          // After a push, the arrays lose the room they grew ahead.
          if (rand(2) === 0) b.fit();
          expect(b.get(x)).toBe(model.get(x));
          expect(b.has(x)).toBe(model.has(x));
        }
        expect(b.size).toBe(model.size);
      }
      const seen = new Map<InputSeries, number>();
      b.forEach((v, i) => {
        expect(seen.has(i)).toBe(false);
        seen.set(i, v);
      });
      expect(seen).toEqual(model);
      for (const [i, v] of model) expect(b.get(i)).toBe(v);
    }
  });

  it("keeps a producer's baselines of inputs made together in the window, not the map, in either order", () => {
    const b = new InputNumbers();
    const ins = Array.from({ length: 500 }, (_, i) => input(1000 + i));
    for (const i of ins) b.set(i, i.id * 1.5);
    // Another push of the same series, and a push that meets them from the last made to the first.
    const c = new InputNumbers();
    for (const i of [...ins].reverse()) c.set(i, 1);
    for (const i of ins) c.set(i, 2);
    expect(b.mapped).toBe(0);
    expect(c.mapped).toBe(0);
    expect(entries(b)).toEqual(ins.map((i) => [i.id, i.id * 1.5]));
    expect(c.size).toBe(500);
  });

  it('puts an input far from the window in the map, and moves a window left mostly empty there', () => {
    const b = new InputNumbers();
    const near = Array.from({ length: 100 }, (_, i) => input(5000 + i));
    for (const i of near) b.set(i, 1);
    const far = input(900_000);
    b.set(far, 2);
    expect(b.mapped).toBe(1);
    expect(b.get(far)).toBe(2);
    for (const i of near.slice(0, 90)) b.delete(i);
    b.forEach(() => {});
    b.tidy();
    // 10 left of 100 places: trimmed to them, still in the window.
    expect(b.mapped).toBe(1);
    for (const i of [near[95]!, near[97]!, near[98]!]) b.delete(i);
    b.delete(near[99]!);
    b.tidy();
    expect(b.size).toBe(7);
    expect(b.get(near[90]!)).toBe(1);
    // Two inputs left 20 places apart: a window that small stays; 200 apart, tidy moves them to the map.
    const narrow = new InputNumbers();
    const span = Array.from({ length: 21 }, (_, i) => input(10 + i));
    for (const m of span) narrow.set(m, 3);
    for (const m of span.slice(1, 20)) narrow.delete(m);
    narrow.tidy();
    expect(narrow.mapped).toBe(0);
    expect(narrow.get(span[20]!)).toBe(3);
    const wide = new InputNumbers();
    const row = Array.from({ length: 200 }, (_, i) => input(i));
    for (const r of row) wide.set(r, 1);
    for (const r of row.slice(1, 199)) wide.delete(r);
    wide.tidy();
    expect(wide.mapped).toBe(2);
    expect(wide.get(row[0]!)).toBe(1);
    expect(wide.get(row[199]!)).toBe(1);
    expect(wide.size).toBe(2);
  });

  it('tells apart two inputs of one id (ids wrap): each keeps its own baseline', () => {
    const b = new InputNumbers();
    const x = input(42);
    const y = input(42);
    b.set(x, 1);
    b.set(y, 2);
    expect(b.get(x)).toBe(1);
    expect(b.get(y)).toBe(2);
    expect(b.delete(x)).toBe(true);
    expect(b.get(x)).toBeUndefined();
    expect(b.get(y)).toBe(2);
    b.set(x, 3);
    expect(entries(b).sort()).toEqual([
      [42, 2],
      [42, 3],
    ]);
  });
});
