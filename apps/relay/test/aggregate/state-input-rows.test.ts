// The rows a checkpoint state gives its inputs (state-write.ts InputRows), found by the input's id where the live
// inputs' ids lie close together and by a Map where they do not (inputs came and went by the million) or where two
// live inputs hold one id (ids wrap after 2^30): every input listed gets its own row, any other none. A wrong row
// would restore a producer's counter baseline onto another series.
import { describe, expect, it } from 'vitest';
import { InputSeries } from '../../src/aggregate/series.js';
import { InputRows } from '../../src/aggregate/state-write.js';

const make = (n: number) => Array.from({ length: n }, (_, i) => new InputSeries(`m{i="${i}"}`, 'm', 'counter', 1, null));
const withId = (id: number) => Object.assign(Object.create(InputSeries.prototype) as InputSeries, { id });

describe('InputRows', () => {
  it('numbers inputs made one after another by their ids, and gives none to an input not listed', () => {
    const inputs = make(500);
    const listed = inputs.filter((_, i) => i % 3 !== 0).reverse();
    const rows = new InputRows(listed);
    listed.forEach((input, j) => expect(rows.rowOf(input)).toBe(j));
    for (const input of inputs.filter((_, i) => i % 3 === 0)) expect(rows.rowOf(input)).toBe(-1);
    expect(rows.rowOf(make(1)[0]!)).toBe(-1);
  });

  it('numbers inputs whose ids lie far apart (many made and gone between them)', () => {
    const first = make(3);
    make(20_000);
    const later = make(3);
    const listed = [...later, ...first];
    const rows = new InputRows(listed);
    listed.forEach((input, j) => expect(rows.rowOf(input)).toBe(j));
    expect(rows.rowOf(make(1)[0]!)).toBe(-1);
  });

  it('numbers two live inputs of one id (ids wrapped) each by itself', () => {
    const a = withId(7);
    const b = withId(7);
    const c = withId(8);
    const rows = new InputRows([a, c, b]);
    expect([rows.rowOf(a), rows.rowOf(c), rows.rowOf(b)]).toEqual([0, 1, 2]);
    expect(rows.rowOf(withId(7))).toBe(-1);
  });

  it('numbers nothing in an empty state', () => {
    expect(new InputRows([]).rowOf(make(1)[0]!)).toBe(-1);
  });
});
