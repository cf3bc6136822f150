import { describe, expect, it } from 'vitest';
import { CODEC_ERROR_CODES, CodecError, PromRelayError } from '../src/index.js';

describe('PromRelayError', () => {
  it('keeps code and cause as enumerable fields so structured logs show them', () => {
    const cause = new Error('root');
    const err = new PromRelayError('PROM_RELAY_TEST_X', 'boom', { cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('PROM_RELAY_TEST_X');
    expect(err.cause).toBe(cause);
    const json = JSON.parse(JSON.stringify(err)) as Record<string, unknown>;
    expect(json).toMatchObject({ code: 'PROM_RELAY_TEST_X', message: 'boom', name: 'PromRelayError' });
    expect(Object.keys(err)).toContain('cause');
  });

  it('can be subclassed by other packages with their own codes', () => {
    class PushError extends PromRelayError<'PROM_RELAY_PUSH_HTTP'> {}
    const err = new PushError('PROM_RELAY_PUSH_HTTP', 'status 500');
    expect(err).toBeInstanceOf(PromRelayError);
    expect(err.name).toBe('PushError');
  });
});

describe('CodecError', () => {
  it('carries offset, line and column when given and a code from the catalogue', () => {
    const err = new CodecError('PROM_RELAY_CODEC_EXPOSITION', 'bad', { line: 3, column: 7 });
    expect(err).toBeInstanceOf(PromRelayError);
    expect(err.name).toBe('CodecError');
    expect(CODEC_ERROR_CODES).toContain(err.code);
    expect(err.line).toBe(3);
    expect(err.column).toBe(7);
    expect(err.offset).toBeUndefined();
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({ line: 3, column: 7, code: 'PROM_RELAY_CODEC_EXPOSITION' });
  });

  it('lists every code with the PROM_RELAY_CODEC_ prefix, once', () => {
    expect(new Set(CODEC_ERROR_CODES).size).toBe(CODEC_ERROR_CODES.length);
    for (const code of CODEC_ERROR_CODES) expect(code).toMatch(/^PROM_RELAY_CODEC_[A-Z_]+$/);
  });
});
