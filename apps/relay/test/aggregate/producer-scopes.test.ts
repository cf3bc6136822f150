// A producer's scopes by key (producer-scopes.ts): one in a field, a map from the second on; answering as a Map would.
import { describe, expect, it } from 'vitest';
import { ProducerScopes } from '../../src/aggregate/producer-scopes.js';
import type { ProducerScope } from '../../src/aggregate/series.js';
import { rng } from './fixtures.js';

const scope = (key: string) => ({ key }) as ProducerScope;

describe('ProducerScopes', () => {
  it('answers as a Map does through random sets, replacements and deletes (some while iterating)', () => {
    const next = rng(11);
    const rand = (n: number) => Math.floor(next() * n);
    for (let round = 0; round < 50; round++) {
      const scopes = new ProducerScopes();
      const model = new Map<string, ProducerScope>();
      const keys = Array.from({ length: 1 + rand(4) }, (_, i) => `job\u0000g${i}\u0001p`);
      for (let step = 0; step < 200; step++) {
        const key = keys[rand(keys.length)]!;
        const op = rand(6);
        if (op < 3) {
          const s = scope(key);
          scopes.set(s);
          model.set(key, s);
        } else if (op < 5) {
          expect(scopes.delete(key)).toBe(model.delete(key));
        } else {
          for (const s of scopes.values()) {
            if (rand(2) === 0) {
              scopes.delete(s.key);
              model.delete(s.key);
            }
          }
        }
        expect(scopes.size).toBe(model.size);
        for (const k of keys) expect(scopes.get(k)).toBe(model.get(k));
        expect([...scopes.values()]).toEqual([...model.values()]);
      }
    }
  });

  it('replaces the one scope of the same key in its field, and tells another key apart', () => {
    const scopes = new ProducerScopes();
    const a = scope('a');
    const a2 = scope('a');
    scopes.set(a);
    scopes.set(a2);
    expect(scopes.size).toBe(1);
    expect(scopes.get('a')).toBe(a2);
    expect(scopes.get('b')).toBeUndefined();
    expect(scopes.delete('b')).toBe(false);
    const b = scope('b');
    scopes.set(b);
    expect([...scopes.values()]).toEqual([a2, b]);
  });
});
