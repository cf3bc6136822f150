/**
 * Strings that share one FNV-1a 32-bit hash (the hash the text decoder gives a label value, text-lexing.ts hashRun):
 * 2^k of them, built by chaining k colliding blocks — two blocks that take the hash to the same state from the same
 * state, found by a birthday search, so every choice of one block per step ends in one hash. What a producer could
 * write to make every series of a push share one identity hash.
 */
const PRIME = 16777619;
const SEED = 0x811c9dc5 | 0;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function fnv1a(s: string, h = SEED): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), PRIME);
  return h;
}

export function collidingValues(k: number, seed = 1): string[] {
  let state = seed >>> 0;
  const random = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  let h = SEED;
  let values = [''];
  for (let step = 0; step < k; step++) {
    const seen = new Map<number, string>();
    for (;;) {
      let block = '';
      for (let i = 0; i < 6; i++) block += ALPHABET[Math.floor(random() * ALPHABET.length)];
      const next = fnv1a(block, h);
      const other = seen.get(next);
      if (other !== undefined && other !== block) {
        values = values.flatMap((v) => [v + other, v + block]);
        h = next;
        break;
      }
      seen.set(next, block);
    }
  }
  return values;
}
