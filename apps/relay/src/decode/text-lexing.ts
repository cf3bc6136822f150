// The character-level pieces of the text decoder (text.ts): character classes, the series identity hash, HELP
// unescaping and small buffer helpers. No state; each function does one thing on a string or an array.

export function isNameStart(c: number, colon: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (colon && c === 58);
}

export function isNameChar(c: number, colon: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57) || (colon && c === 58);
}

export function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Series identity hashes (FNV-1a over the text as written; pairs combined by addition, so their order does not count):
 * equal series identities (identity.ts seriesIdentity) have equal hashes, and the duplicate check compares identities
 * only where hashes are equal.
 */
export const HASH_SEED = 0x811c9dc5 | 0;
export const HASH_PRIME = 16777619;

export function hashRun(t: string, start: number, end: number): number {
  let h = HASH_SEED;
  for (let i = start; i < end; i++) h = Math.imul(h ^ t.charCodeAt(i), HASH_PRIME);
  return h;
}

export function pairHash(name: number, value: number): number {
  let h = Math.imul(name ^ 0x5bd1e995, 0x85ebca6b) ^ value;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export function finishHash(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return h ^ (h >>> 16);
}

/** HELP text escapes: `\\` and `\n`; any other backslash is kept as written (the codec and the Go parser agree). */
export function unescapeHelp(text: string): string {
  let at = text.indexOf('\\');
  if (at === -1) return text;
  let out = '';
  let run = 0;
  while (at !== -1 && at + 1 < text.length) {
    const next = text.charCodeAt(at + 1);
    if (next === 92 || next === 110) {
      out += text.slice(run, at) + (next === 110 ? '\n' : '\\');
      run = at + 2;
      at = text.indexOf('\\', run);
    } else {
      at = text.indexOf('\\', at + 1);
    }
  }
  return out + text.slice(run);
}

export function skipBlanksIn(text: string, pos: number): number {
  while (pos < text.length && isBlank(text.charCodeAt(pos))) pos++;
  return pos;
}

export function sameChars(t: string, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (t.charCodeAt(a + i) !== t.charCodeAt(b + i)) return false;
  return true;
}

export function growInt32(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}
