import { describe, expect, it } from 'vitest';
import { CodecError } from '../../src/index.js';
import { buildLabels } from '../../src/remote-write/label-shapes.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CodecError ? err.code : `not a CodecError: ${String(err)}`;
  }
  return undefined;
}

describe('buildLabels', () => {
  it('builds plain objects in name order, reusing a shape for the same names', () => {
    const a = buildLabels(['__name__', 'job'], ['up', 'a'], 2, 0);
    const b = buildLabels(['__name__', 'job'], ['up', 'b'], 2, 0);
    expect(a).toEqual({ __name__: 'up', job: 'a' });
    expect(b).toEqual({ __name__: 'up', job: 'b' });
    expect(Object.getPrototypeOf(b)).toBe(Object.prototype);
    expect(Object.keys(b)).toEqual(['__name__', 'job']);
    // Only the first `count` entries count.
    expect(buildLabels(['__name__', 'job', 'stale'], ['up', 'c', 'x'], 2, 0)).toEqual({ __name__: 'up', job: 'c' });
  });

  it('rejects duplicate names every time, also when the shape was seen before', () => {
    for (let i = 0; i < 3; i++) {
      expect(codeOf(() => buildLabels(['a', 'b', 'a'], ['1', '2', '3'], 3, 7))).toBe('PROM_RELAY_CODEC_LABELS');
      buildLabels(['x'], ['1'], 1, 0);
    }
  });

  it('keeps __proto__ as an own label without touching the prototype', () => {
    const labels = buildLabels(['__name__', '__proto__'], ['m', 'v'], 2, 0);
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value).toBe('v');
  });

  it('handles long label sets and many distinct shapes (bounded cache)', () => {
    const names = Array.from({ length: 50 }, (_, i) => `n${i}`);
    const values = names.map((n) => `v-${n}`);
    expect(Object.keys(buildLabels(names, values, 50, 0))).toHaveLength(50);
    for (let i = 0; i < 6000; i++) {
      const got = buildLabels(['__name__', `l${i}`], ['m', String(i)], 2, 0);
      expect(got[`l${i}`]).toBe(String(i));
    }
    expect(codeOf(() => buildLabels(['q', 'q'], ['1', '2'], 2, 0))).toBe('PROM_RELAY_CODEC_LABELS');
  });
});
