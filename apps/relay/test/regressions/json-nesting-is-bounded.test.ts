// Issue 10 item 3: a JSON line nested 100,000 deep was dead-lettered as UNKNOWN ("Maximum call stack size exceeded":
// an error message quoted the value with JSON.stringify, which recursed). Nesting is now measured in one pass
// before JSON.parse, and refused with a reason that names the limit, line and column.
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_JSON_DEPTH, DecodeError, decodeJsonLines } from '../../src/decode/index.js';

const nested = (n: number) => '['.repeat(n) + ']'.repeat(n);

function decodeFailure(text: string, limits = {}): DecodeError {
  try {
    decodeJsonLines(text, 'j', {}, limits);
  } catch (error) {
    if (error instanceof DecodeError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('JSON lines nesting is bounded', () => {
  it.each([
    ['a whole line', nested(100_000)],
    ['the value', `{"name":"m","value":${nested(100_000)}}`],
    ['a label value', `{"name":"m","labels":{"a":${nested(100_000)}},"value":1}`],
    ['an ignored field', `{"name":"m","value":1,"extra":{"x":${nested(100_000)}}}`],
  ])('100,000 deep in %s: PROM_RELAY_DECODE_JSON naming depth, line and column', (_where, deepLine) => {
    const error = decodeFailure(`{"name":"ok","value":1}\n${deepLine}\n`);
    expect(error.code).toBe('PROM_RELAY_DECODE_JSON');
    expect(error.line).toBe(2);
    expect(error.message).toMatch(new RegExp(`^line 2, column \\d+: nested deeper than ${DEFAULT_MAX_JSON_DEPTH} \\(limit maxJsonDepth\\)$`));
    // The column is the bracket that opens the level one past the limit.
    expect(deepLine[error.column! - 1]).toMatch(/[[{]/);
  });

  it('brackets inside strings do not count; the limit is exact', () => {
    const ok = `{"name":"m","value":1,"labels":{"a":"[[[[{{{{"},"x":${nested(DEFAULT_MAX_JSON_DEPTH - 1)}}`;
    expect(decodeJsonLines(ok, 'j', {})[0]!.labels['a']).toBe('[[[[{{{{');
    const over = `{"name":"m","value":1,"x":${nested(DEFAULT_MAX_JSON_DEPTH)}}`;
    expect(decodeFailure(over).message).toMatch(/nested deeper than 32/);
    expect(decodeJsonLines(over, 'j', {}, { maxJsonDepth: 64 })).toHaveLength(1);
    // An escaped quote does not end a string.
    expect(decodeJsonLines(`{"name":"m","value":1,"labels":{"a":"\\"[[[["}}`, 'j', {}, { maxJsonDepth: 2 })).toHaveLength(1);
  });

  it('error messages quote at most a short prefix of a bad value', () => {
    const error = decodeFailure(`{"name":"m","value":"${'x'.repeat(1_000_000)}"}`);
    expect(error.code).toBe('PROM_RELAY_DECODE_JSON');
    expect(error.message.length).toBeLessThan(200);
  });

  it('label limits apply to JSON lines as to text: labels counted with the name, value length', () => {
    const labels = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`l${i}`, 'v']));
    const line = JSON.stringify({ name: 'm', value: 1, labels });
    expect(decodeFailure(line, { maxLabelsPerSeries: 64 })).toMatchObject({ code: 'PROM_RELAY_DECODE_LIMIT', line: 1 });
    expect(decodeJsonLines(line, 'j', {}, { maxLabelsPerSeries: 65 })).toHaveLength(1);
    const long = JSON.stringify({ name: 'm', value: 1, labels: { a: 'x'.repeat(2049) } });
    expect(decodeFailure(long, { maxLabelValueLength: 2048 }).message).toBe('line 1: value of label a is longer than 2048 characters (limit maxLabelValueLength)');
  });
});
