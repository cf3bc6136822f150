import { PromRelayError } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { PUSH_ERROR_CODES, PushClientError } from '../src/index.js';

describe('PushClientError', () => {
  it('is a PromRelayError with a catalogued code and enumerable fields that loggers print', () => {
    const cause = new Error('socket hang up');
    const error = new PushClientError('PROM_RELAY_PUSH_HTTP_STATUS', 'answered 400', { statusCode: 400, responseBody: 'out of bounds', cause });
    expect(error).toBeInstanceOf(PromRelayError);
    expect(error).toBeInstanceOf(Error);
    expect(PUSH_ERROR_CODES).toContain(error.code);
    expect(PUSH_ERROR_CODES.every((c) => c.startsWith('PROM_RELAY_PUSH_'))).toBe(true);
    const logged = JSON.parse(JSON.stringify(error)) as Record<string, unknown>;
    expect(logged).toMatchObject({ name: 'PushClientError', code: 'PROM_RELAY_PUSH_HTTP_STATUS', message: 'answered 400', statusCode: 400, responseBody: 'out of bounds' });
    expect(error.cause).toBe(cause);
    expect(Object.keys(new PushClientError('PROM_RELAY_PUSH_NETWORK', 'x'))).not.toContain('statusCode');
  });
});
