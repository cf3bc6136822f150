import { describe, expect, it } from 'vitest';
import {
  CodecError,
  dropEmptyLabelValues,
  isValidLabelName,
  isValidMetricName,
  setLabel,
  sortLabels,
  validateLabels,
} from '../src/index.js';

function codeOf(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CodecError ? err.code : 'not a CodecError';
  }
  return undefined;
}

describe('label helpers', () => {
  it('sortLabels orders names and keeps values', () => {
    const sorted = sortLabels({ job: 'x', __name__: 'up', instance: 'h:1', a: '1' });
    expect(Object.keys(sorted)).toEqual(['__name__', 'a', 'instance', 'job']);
    expect(sorted).toEqual({ __name__: 'up', a: '1', instance: 'h:1', job: 'x' });
  });

  it('dropEmptyLabelValues removes only empty values', () => {
    expect(dropEmptyLabelValues({ __name__: 'up', a: '', b: ' ' })).toEqual({ __name__: 'up', b: ' ' });
  });

  it('isValidMetricName and isValidLabelName follow the Prometheus rules', () => {
    expect(isValidMetricName('http:requests_total')).toBe(true);
    expect(isValidMetricName('_x1')).toBe(true);
    expect(isValidMetricName('1x')).toBe(false);
    expect(isValidMetricName('')).toBe(false);
    expect(isValidMetricName('a-b')).toBe(false);
    expect(isValidLabelName('le')).toBe(true);
    expect(isValidLabelName('a:b')).toBe(false);
    expect(isValidLabelName('9a')).toBe(false);
    expect(isValidLabelName('é')).toBe(false);
  });

  it('validateLabels accepts a valid set and names the problem otherwise', () => {
    expect(() => validateLabels({ __name__: 'up', job: 'x', emoji: '✓' })).not.toThrow();
    expect(codeOf(() => validateLabels({ job: 'x' }))).toBe('PROM_RELAY_CODEC_LABELS');
    expect(codeOf(() => validateLabels({ __name__: '1up' }))).toBe('PROM_RELAY_CODEC_LABELS');
    expect(codeOf(() => validateLabels({ __name__: 'up', '': 'v' }))).toBe('PROM_RELAY_CODEC_LABELS');
    expect(codeOf(() => validateLabels({ __name__: 'up', 'a-b': 'v' }))).toBe('PROM_RELAY_CODEC_LABELS');
    expect(codeOf(() => validateLabels({ __name__: 'up', a: '' }))).toBe('PROM_RELAY_CODEC_LABELS');
    expect(codeOf(() => validateLabels({ __name__: 'up', a: 1 as unknown as string }))).toBe('PROM_RELAY_CODEC_LABELS');
    expect(() => validateLabels({ job: 'x' })).toThrow(/no __name__/);
  });

  it('setLabel stores __proto__ as a plain label instead of changing the prototype', () => {
    const labels: Record<string, string> = {};
    setLabel(labels, '__proto__', 'v');
    expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
    expect(Object.keys(labels)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(labels, '__proto__')?.value).toBe('v');
  });
});
