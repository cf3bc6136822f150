// A producer scope's counter baselines and sample times (aggregate/input-numbers.ts) sit in a window of arrays by input
// id. Two ways its upkeep could grow with the window rather than with the push, stalling a relay on a large producer:
// a push that meets its inputs from the last made to the first (each one below the window: moving it down a place
// at a time copies the window for every input), and a producer whose pushes each add one input to a large window
// (dropping the arrays' spare room after every push copies the window each time). Both must stay linear: four times
// the inputs may cost about four times the CPU, never sixteen. Compared as a ratio of CPU times measured in the same
// process (least of several runs, sizes in turn), never against a fixed duration.
import { describe, expect, it } from 'vitest';
import { InputNumbers } from '../../src/aggregate/input-numbers.js';
import type { InputSeries } from '../../src/aggregate/series.js';
import { cpuGrowth } from '../lib/cpu-growth.js';

/** Inputs as the window sees them: ids in the order they were made. */
const inputs = (n: number) => Array.from({ length: n }, (_, id) => ({ id }) as InputSeries);

/** CPU for GROWTH times the inputs over CPU for n, each the least of 9 runs (sizes in turn); again while over the bound. */
const growth = (work: (ins: InputSeries[]) => void, n: number) => cpuGrowth(inputs(n), inputs(GROWTH * n), work, { bound: LINEAR });

// Measured here: 4.4-5.5 for both now (CPU caches and GC make 4x the inputs a little dearer than 4x); with the window
// moved a place at a time, or copied after every push, 88 and 125 (5,000 against 20,000 inputs: at this N such a
// window runs into the test's timeout).
const GROWTH = 4;
const LINEAR = 9;
const N = 50_000;

describe("a producer's numbers cost work linear in its pushes", () => {
  it('a push meeting its inputs from the last made to the first', () => {
    const g = growth((ins) => {
      const b = new InputNumbers();
      for (let i = ins.length - 1; i >= 0; i--) b.set(ins[i]!, i);
      b.fit();
      if (b.size !== ins.length || b.mapped !== 0) throw new Error(`${b.size} numbers, ${b.mapped} in the map`);
    }, N);
    expect(g, `CPU growth for ${GROWTH}x the inputs: ${g.toFixed(1)}`).toBeLessThan(LINEAR);
  }, 120_000);

  it('pushes of one new input each, to one producer', () => {
    const g = growth((ins) => {
      const b = new InputNumbers();
      for (const input of ins) {
        b.set(input, 1);
        b.fit();
      }
      if (b.size !== ins.length || b.mapped !== 0) throw new Error(`${b.size} numbers, ${b.mapped} in the map`);
    }, N);
    expect(g, `CPU growth for ${GROWTH}x the inputs: ${g.toFixed(1)}`).toBeLessThan(LINEAR);
  }, 120_000);
});
