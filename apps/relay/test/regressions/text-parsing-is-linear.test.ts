// Issue 10 item 3: one text body with 20,000 labels on a series froze the event loop for 5-21 s, because each label
// name was compared with every earlier one (and the codec looked for a backslash to the end of the line per value).
// Both text parsers must take time linear in the body: four times the labels may cost about four times the CPU,
// never sixteen. Compared as a ratio of CPU times measured in the same process, never against a fixed duration.
import { parseExposition } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { decodeExpositionText } from '../../src/decode/index.js';
import { cpuGrowth, cpuMicros } from '../lib/cpu-growth.js';

/** Growth for GROWTH times the labels, each size the least of 15 calls, again up to 3 times while over the bound. */
const leastGrowth = (body: (n: number) => string, parse: (text: string) => void, n: number) =>
  cpuGrowth(body(n), body(GROWTH * n), parse, { bound: LINEAR, runs: 15 });

const oneSeries = (n: number) => `m{${Array.from({ length: n }, (_, i) => `label_${i}="v"`).join(',')}} 1\n`;
const escapedValue = (n: number) => `m{a="${'x\\"'.repeat(n)}",b="${'y'.repeat(n)}"} 1\n`;
const manyLabelsPerLine = (n: number) => Array.from({ length: n / 100 }, (_, k) => `m{${Array.from({ length: 100 }, (_, i) => `l${i}="${k}"`).join(',')}} 1`).join('\n');

// Measured here: about 4.5 for both parsers now (4.0-5.6 alone); 17.4 (relay) and 10.7 (codec) with the quadratic
// duplicate check they had before. 7 leaves room for a noisy shared machine and lets neither of those pass.
const GROWTH = 4;
const LINEAR = 7;
const N = 10_000;

describe('text parsing is linear in the body', () => {
  it.each([
    ['one series, N label names (duplicate check)', oneSeries],
    ['one label value with N escapes and one of N plain characters', escapedValue],
    ['N/100 lines of 100 labels', manyLabelsPerLine],
  ])('relay decoder and codec parser: %s', (_what, body) => {
    const relay = leastGrowth(body, (text) => {
      for (const p of decodeExpositionText(text, 'j', {})) void p.labels; // labels too: they are built on first use
    }, N);
    const codec = leastGrowth(body, (text) => void parseExposition(text), N);
    expect({ relay: relay < LINEAR, codec: codec < LINEAR }, `CPU growth for ${GROWTH}x the labels: relay ${relay.toFixed(1)}, codec ${codec.toFixed(1)}`).toEqual({ relay: true, codec: true });
  }, 120_000);

  it('a series of 100,000 labels is refused at the limit without reading the rest of its labels', () => {
    const limits = { maxLabelsPerSeries: 64, maxLabelValueLength: 2048 };
    const refuse = (text: string) => {
      try {
        decodeExpositionText(text, 'j', {}, limits);
      } catch {
        return;
      }
      throw new Error('accepted');
    };
    const body = oneSeries(100_000);
    const refused = cpuMicros(() => refuse(body));
    const parsed = cpuMicros(() => void decodeExpositionText(body, 'j', {}));
    // Refusing costs a scan for the line's end, not a parse of 100,000 labels.
    expect(refused * 20, `refused in ${refused} µs, parsed in ${parsed} µs`).toBeLessThan(parsed);
  }, 120_000);
});
