import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RateLimitedLog } from '../../src/log/index.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const flushed = () => new Promise((r) => setImmediate(r));

describe('RateLimitedLog', () => {
  it('logs at most `limit` lines per key per interval and reports how many it held back', async () => {
    let now = 0;
    const { logger, lines } = capture();
    const log = new RateLimitedLog(logger, { limit: 2, intervalMs: 1000, now: () => now });
    for (let i = 0; i < 10; i++) log.warn('a', { i }, 'dead letter');
    expect(log.warn('b', { i: 0 }, 'other key')).toBe(true);
    expect(log.pending()).toEqual(new Map([['a', 8]]));
    now = 1000;
    expect(log.warn('a', { i: 10 }, 'dead letter')).toBe(true);
    await flushed();
    expect(lines.map((l) => [l.msg, l.i, l.suppressed, l.level])).toEqual([
      ['dead letter', 0, undefined, 40],
      ['dead letter', 1, undefined, 40],
      ['other key', 0, undefined, 40],
      ['dead letter', 10, 8, 40],
    ]);
    expect(log.pending().size).toBe(0);
  });

  it('forgets the oldest keys beyond maxKeys, so memory stays bounded', async () => {
    let now = 0;
    const { logger, lines } = capture();
    const log = new RateLimitedLog(logger, { limit: 1, intervalMs: 60_000, maxKeys: 3, now: () => now });
    for (let k = 0; k < 100; k++) {
      now++;
      log.error(`key-${k}`, {}, 'x');
    }
    // key-0 was forgotten: it logs again at once.
    expect(log.error('key-0', {}, 'again')).toBe(true);
    await flushed();
    expect(lines).toHaveLength(101);
    expect(lines[0]!.level).toBe(50);
  });
});
