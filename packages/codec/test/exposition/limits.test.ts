import { describe, expect, it } from 'vitest';
import { CodecError, parseExposition } from '../../src/index.js';
import type { ExpositionLimits } from '../../src/index.js';

function errorOf(text: string, limits: ExpositionLimits): CodecError {
  try {
    parseExposition(text, { limits });
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw err;
  }
  throw new Error('expected a CodecError');
}

describe('parseExposition limits', () => {
  it('refuses more labels than maxLabelsPerSeries, the metric name counted, at the label past the limit', () => {
    const text = 'ok{a="1"} 1\nm{a="1",b="2",c="3"} 1\n';
    expect(errorOf(text, { maxLabelsPerSeries: 3 })).toMatchObject({
      code: 'PROM_RELAY_CODEC_LIMIT',
      line: 2,
      column: 15,
      message: 'line 2, column 15: series m has more than 3 labels, its name counted (limit maxLabelsPerSeries)',
    });
    expect(parseExposition(text, { limits: { maxLabelsPerSeries: 4 } })[1]!.samples[0]!.labels).toEqual({ a: '1', b: '2', c: '3' });
  });

  it('refuses a label value longer than maxLabelValueLength after unescaping, at the value', () => {
    expect(errorOf('m{a="12345"} 1', { maxLabelValueLength: 4 })).toMatchObject({
      code: 'PROM_RELAY_CODEC_LIMIT',
      line: 1,
      column: 6,
      message: 'line 1, column 6: value of label a is longer than 4 characters (limit maxLabelValueLength)',
    });
    // `\\"` and `\\n` are one character each.
    expect(parseExposition('m{a="\\"\\n\\\\x"} 1', { limits: { maxLabelValueLength: 4 } })[0]!.samples[0]!.labels['a']).toBe('"\n\\x');
  });

  it('without limits takes any number of labels and still finds a duplicate among thousands', () => {
    const names = Array.from({ length: 5000 }, (_, i) => `l${i}="v"`);
    expect(Object.keys(parseExposition(`m{${names.join(',')}} 1`)[0]!.samples[0]!.labels)).toHaveLength(5000);
    const dup = errorOf(`m{${names.join(',')},l4321="x"} 1`, {});
    expect(dup.code).toBe('PROM_RELAY_CODEC_EXPOSITION');
    expect(dup.message).toMatch(/duplicate label l4321$/);
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => parseExposition('m 1', { limits: { maxLabelsPerSeries: 0 } })).toThrow(/maxLabelsPerSeries must be a positive integer/);
    expect(() => parseExposition('m 1', { limits: { maxLabelValueLength: 1.5 } })).toThrow(/maxLabelValueLength must be a positive integer/);
  });
});
