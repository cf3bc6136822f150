// seriesIdentityHash (a series' identity hash computed from its key, as a restored aggregate does) against the hash
// the text decoder computed while parsing the same line: equal for every spelling, and equal exactly where the
// identities (seriesIdentity) are equal, over random label sets, orders, blanks, escapes, empty and overridden labels.
import { describe, expect, it } from 'vitest';
import { decodeRecord, type KafkaRecord } from '../../src/decode/index.js';
import { textIdentityHash } from '../../src/decode/text-point.js';
import { seriesIdentity, seriesIdentityHash } from '../../src/decode/identity.js';
import type { InputPoint } from '../../src/model.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const VALUES = ['1', '2', 'x"y', 'a\\b', 'line\nbreak', '', 'ü', 'long-value-0123456789'];
const escape = (v: string) => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));

function points(body: string, grouping: string): InputPoint[] {
  const rec: KafkaRecord = {
    topic: 't',
    partition: 0,
    offset: '0',
    key: null,
    value: Buffer.from(body),
    headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': 'j', 'prom-relay-producer': 'p', 'prom-relay-grouping': grouping },
  };
  const batch = decodeRecord(rec, {});
  if (!('points' in batch)) throw new Error(`not decoded: ${JSON.stringify(batch)}\n${body}`);
  return batch.points;
}

describe('seriesIdentityHash', () => {
  it("equals the text decoder's hash for every spelling, and hashes equal identities alike", () => {
    const overridden = new Set(['job', 'shard']);
    const byIdentity = new Map<string, number>();
    let checked = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const rand = rng(seed);
      const lines: string[] = ['# TYPE m untyped'];
      const seen = new Set<string>();
      for (let s = 0; s < 20; s++) {
        const names = ['a', 'b', 'c', 'job', 'shard', 'le_x'].filter(() => rand() < 0.5);
        const pairs = names.map((n) => {
          const blank = () => (rand() < 0.2 ? ' ' : '');
          return `${blank()}${n}${blank()}=${blank()}"${escape(VALUES[Math.floor(rand() * VALUES.length)]!)}"${blank()}`;
        });
        for (let i = pairs.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
        }
        const series = pairs.length === 0 && rand() < 0.5 ? 'm' : `m${rand() < 0.2 ? ' ' : ''}{${pairs.join(',')}${pairs.length > 0 && rand() < 0.2 ? ',' : ''}}`;
        const identity = seriesIdentity(series, overridden);
        if (seen.has(identity)) continue; // one body may not hold a series twice
        seen.add(identity);
        lines.push(`${series} ${s}`);
      }
      for (const p of points(lines.join('\n') + '\n', 'shard=7')) {
        const decoded = textIdentityHash(p, overridden);
        expect(decoded).toBeTypeOf('number');
        expect(seriesIdentityHash(p.key!, overridden)).toBe(decoded);
        const identity = seriesIdentity(p.key!, overridden);
        const before = byIdentity.get(identity);
        if (before !== undefined) expect(decoded).toBe(before);
        byIdentity.set(identity, decoded!);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(2000);
    // different identities rarely share a 32-bit hash (the aggregate tells them apart by identity when they do)
    expect(new Set(byIdentity.values()).size).toBeGreaterThan(byIdentity.size * 0.99);
  });
});
