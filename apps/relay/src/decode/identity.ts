// The identity of an input series: the text that names one series of one message whatever way it was written or
// carried (seriesIdentity of a text series as written, labelsKeyIdentity of a series the aggregate keyed by its labels,
// labelsIdentity of a bare label set), and its hash (seriesIdentityHash, labelsKeyIdentityHash), the text decoder's
// own, so equal identities have equal hashes. The duplicate check (validate.ts) and the aggregate's scope
// (aggregate/scope.ts) compare identities only where hashes are equal.
import type { Labels } from '@prom-relay/codec';
import { HASH_PRIME, HASH_SEED, finishHash, hashRun, pairHash } from './text-lexing.js';

let identitiesBuilt = 0;

/** How many times seriesIdentity ran in this process: tests bound the work a body or a push causes by it. */
export function identitiesBuiltSoFar(): number {
  return identitiesBuilt;
}

let hashesRecomputed = 0;

/** How many times seriesIdentityHash read a key again (the decoder's hash did not serve): for tests. */
export function identityHashesRecomputedSoFar(): number {
  return hashesRecomputed;
}

/**
 * The series identity of a text point: its metric name and its label pairs `name="value"` (value as escaped in the
 * text, which is unique per value), without empty values and without the labels the headers override (equal for every
 * point of the message), sorted as strings. Read from the series as written, never building a label set; when the
 * text already is in that form (the common case: registries write one label order per family) it is returned as is.
 */
export function seriesIdentity(key: string, overridden: ReadonlySet<string>): string {
  identitiesBuilt++;
  const brace = key.indexOf('{');
  if (brace < 0) return trimBlanks(key);
  let canonical = brace > 0 && !isBlank(key.charCodeAt(brace - 1));
  // `name="value"` written without blanks around `=`: the pair's text is its identity, sorted by index, not copied.
  let loose = false;
  let n = 0;
  let prevStart = -1;
  let prevEnd = -1;
  let pos = brace + 1;
  for (;;) {
    const lead = pos;
    while (pos < key.length && isBlank(key.charCodeAt(pos))) pos++;
    if (pos !== lead) canonical = false;
    if (pos >= key.length || key.charCodeAt(pos) === 125) break;
    const nameStart = pos;
    while (pos < key.length && key.charCodeAt(pos) !== 61 && !isBlank(key.charCodeAt(pos))) pos++;
    const nameEnd = pos;
    while (pos < key.length && key.charCodeAt(pos) !== 34) pos++; // blanks, `=`, blanks up to the opening quote
    const quote = pos;
    if (quote !== nameEnd + 1) {
      canonical = false;
      loose = true;
    }
    pos++;
    while (pos < key.length) {
      const c = key.charCodeAt(pos);
      if (c === 92) pos += 2;
      else if (c === 34) break;
      else pos++;
    }
    const end = ++pos; // past the closing quote
    while (pos < key.length && isBlank(key.charCodeAt(pos))) pos++;
    if (key.charCodeAt(pos) === 44) pos++;
    const skip = end === quote + 2 || (overridden.size > 0 && isOverridden(key, nameStart, nameEnd, overridden));
    if (skip) {
      canonical = false;
    } else {
      const tight = (pos === end + 1 && key.charCodeAt(end) === 44) || (pos === end && key.charCodeAt(end) === 125); // `",` or `"}`
      if (canonical && (!tight || (prevStart >= 0 && compareRuns(key, prevStart, prevEnd - prevStart, nameStart, end - nameStart) >= 0))) canonical = false;
      if (n * 3 + 3 > pairs.length) pairs = growInt32(pairs);
      pairs[n * 3] = nameStart;
      pairs[n * 3 + 1] = nameEnd;
      pairs[n * 3 + 2] = end;
      n++;
      prevStart = nameStart;
      prevEnd = end;
    }
  }
  // canonical: `"}` right after the last pair (no trailing comma or blanks), and at least one pair
  if (canonical && n > 0 && prevEnd === key.length - 1) return key;
  const name = trimBlanks(key.slice(0, brace));
  if (n === 0) return name;
  if (loose) {
    const segments: string[] = [];
    for (let i = 0; i < n; i++) {
      const a = pairs[i * 3]!;
      const b = pairs[i * 3 + 1]!;
      const e = pairs[i * 3 + 2]!;
      segments.push(`${key.slice(a, b)}=${key.slice(key.indexOf('"', b), e)}`);
    }
    segments.sort();
    return `${name}{${segments.join(',')}}`;
  }
  // Insertion sort of the pairs' text ranges (a series has few labels), compared in place.
  for (let i = 1; i < n; i++) {
    const a = pairs[i * 3]!;
    const b = pairs[i * 3 + 1]!;
    const e = pairs[i * 3 + 2]!;
    let j = i - 1;
    while (j >= 0 && compareRuns(key, pairs[j * 3]!, pairs[j * 3 + 2]! - pairs[j * 3]!, a, e - a) > 0) {
      pairs[(j + 1) * 3] = pairs[j * 3]!;
      pairs[(j + 1) * 3 + 1] = pairs[j * 3 + 1]!;
      pairs[(j + 1) * 3 + 2] = pairs[j * 3 + 2]!;
      j--;
    }
    pairs[(j + 1) * 3] = a;
    pairs[(j + 1) * 3 + 1] = b;
    pairs[(j + 1) * 3 + 2] = e;
  }
  let out = `${name}{`;
  for (let i = 0; i < n; i++) out += (i > 0 ? ',' : '') + key.slice(pairs[i * 3]!, pairs[i * 3 + 2]!);
  return `${out}}`;
}

/**
 * The hash of a text series' identity (seriesIdentity) from the series as written: the text decoder's own (text.ts
 * parseSample: FNV-1a of the metric name, plus one pair hash per label it keeps, added so their order does not count),
 * so a series it decoded with the same `overridden` labels gets the hash its point carries.
 */
export function seriesIdentityHash(key: string, overridden: ReadonlySet<string>): number {
  hashesRecomputed++;
  let pos = 0;
  while (pos < key.length && isSeriesNameChar(key.charCodeAt(pos))) pos++;
  const nameHash = hashRun(key, 0, pos);
  let pairsHash = 0;
  const brace = key.indexOf('{', pos);
  if (brace >= 0) {
    pos = brace + 1;
    for (;;) {
      while (pos < key.length && isBlank(key.charCodeAt(pos))) pos++;
      if (pos >= key.length || key.charCodeAt(pos) === 125) break;
      const nameStart = pos;
      while (pos < key.length && key.charCodeAt(pos) !== 61 && !isBlank(key.charCodeAt(pos))) pos++;
      const nameEnd = pos;
      while (pos < key.length && key.charCodeAt(pos) !== 34) pos++; // blanks, `=`, blanks up to the opening quote
      const valueStart = ++pos;
      while (pos < key.length) {
        const c = key.charCodeAt(pos);
        if (c === 92) pos += 2;
        else if (c === 34) break;
        else pos++;
      }
      const valueEnd = pos++;
      if (valueEnd > valueStart && !(overridden.size > 0 && isOverridden(key, nameStart, nameEnd, overridden))) {
        pairsHash = (pairsHash + pairHash(hashRun(key, nameStart, nameEnd), hashRun(key, valueStart, valueEnd))) | 0;
      }
      while (pos < key.length && isBlank(key.charCodeAt(pos))) pos++;
      if (key.charCodeAt(pos) === 44) pos++;
    }
  }
  return finishHash(nameHash + pairsHash);
}

/**
 * seriesIdentityHash of a series the aggregate keyed by its labels (`labelsKey`: `name="value",` per label, names
 * sorted, values JSON-quoted; Remote Write, JSON lines, native histograms): the hash the series has written as text,
 * so a producer's series is one input series whichever format carried it. Each value is hashed as the text format
 * escapes it (`\\`, `\"`, `\n`; every other character as itself), read from its JSON quoting without building it.
 */
export function labelsKeyIdentityHash(key: string, overridden: ReadonlySet<string>): number {
  if (key.indexOf('\\') >= 0) return escapedLabelsKeyIdentityHash(key, overridden);
  // No escapes (the common case): each name ends at its `=`, each value at the next quote.
  let nameHash = HASH_SEED;
  let pairsHash = 0;
  const n = key.length;
  let pos = 0;
  while (pos < n) {
    const eq = key.indexOf('=', pos);
    if (eq < 0) break;
    const valueStart = eq + 2;
    let valueEnd = key.indexOf('"', valueStart);
    if (valueEnd < 0) valueEnd = n;
    if (eq - pos === 8 && key.startsWith('__name__', pos)) nameHash = hashRun(key, valueStart, valueEnd);
    else if (valueEnd > valueStart && !(overridden.size > 0 && isOverridden(key, pos, eq, overridden))) {
      pairsHash = (pairsHash + pairHash(hashRun(key, pos, eq), hashRun(key, valueStart, valueEnd))) | 0;
    }
    pos = valueEnd + 2; // `",`
  }
  return finishHash(nameHash + pairsHash);
}

/** labelsKeyIdentityHash of a key with JSON escapes in its values: each read as the character it stands for. */
function escapedLabelsKeyIdentityHash(key: string, overridden: ReadonlySet<string>): number {
  let nameHash = HASH_SEED;
  let pairsHash = 0;
  const n = key.length;
  let pos = 0;
  while (pos < n) {
    const nameStart = pos;
    while (pos < n && key.charCodeAt(pos) !== 61) pos++;
    const nameEnd = pos;
    pos += 2; // `="`
    const valueStart = pos;
    let h = HASH_SEED;
    while (pos < n) {
      let c = key.charCodeAt(pos++);
      if (c === 34) break;
      if (c === 92) {
        c = jsonEscaped(key, pos);
        pos += key.charCodeAt(pos) === 117 ? 5 : 1;
        if (c === 92 || c === 34 || c === 10) {
          h = Math.imul(h ^ 92, HASH_PRIME);
          if (c === 10) c = 110;
        }
      }
      h = Math.imul(h ^ c, HASH_PRIME);
    }
    const empty = pos - 1 === valueStart;
    pos++; // `,`
    if (nameEnd - nameStart === 8 && key.startsWith('__name__', nameStart)) nameHash = h;
    else if (!empty && !(overridden.size > 0 && isOverridden(key, nameStart, nameEnd, overridden))) {
      pairsHash = (pairsHash + pairHash(hashRun(key, nameStart, nameEnd), h)) | 0;
    }
  }
  return finishHash(nameHash + pairsHash);
}

/** The character a JSON escape stands for, `at` just past its backslash. */
function jsonEscaped(key: string, at: number): number {
  const e = key.charCodeAt(at);
  switch (e) {
    case 110:
      return 10; // n
    case 116:
      return 9; // t
    case 114:
      return 13; // r
    case 98:
      return 8; // b
    case 102:
      return 12; // f
    case 117:
      return Number.parseInt(key.slice(at + 1, at + 5), 16); // uXXXX
    default:
      return e; // `"`, `\`, `/`
  }
}

/**
 * seriesIdentity of a labels key (labelsKeyIdentityHash): `name{a="1",b="2"}`, values escaped as the text format
 * writes them, empty values and `overridden` labels left out, pairs sorted as strings: equal to the identity of the
 * same series written as text. Built only where hashes are equal and keys are not.
 */
export function labelsKeyIdentity(key: string, overridden: ReadonlySet<string>): string {
  identitiesBuilt++;
  let name = '';
  const segments: string[] = [];
  const n = key.length;
  let pos = 0;
  while (pos < n) {
    const eq = key.indexOf('=', pos);
    if (eq < 0) break;
    let end = eq + 2;
    while (end < n && key.charCodeAt(end) !== 34) end += key.charCodeAt(end) === 92 ? 2 : 1;
    const label = key.slice(pos, eq);
    const value = jsonString(key.slice(eq + 1, end + 1));
    pos = end + 2; // `",`
    if (label === '__name__') name = value;
    else if (value !== '' && !overridden.has(label)) segments.push(`${label}="${escapeValue(value)}"`);
  }
  if (segments.length === 0) return name;
  segments.sort();
  return `${name}{${segments.join(',')}}`;
}

/** A JSON-quoted string's value; a key no labelsKey wrote (a damaged checkpoint's) as it stands, never a throw. */
function jsonString(quoted: string): string {
  try {
    const value: unknown = JSON.parse(quoted);
    return typeof value === 'string' ? value : quoted;
  } catch {
    return quoted;
  }
}

function isSeriesNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 58;
}

/** The names of the last `overridden` set seriesIdentity saw (one set per message: converted once, not per label). */
let overriddenSet: ReadonlySet<string> | undefined;
let overriddenNames: string[] = [];

/** Whether the label name `key[start, end)` is one of `overridden`, compared in place (no slice per label). */
function isOverridden(key: string, start: number, end: number, overridden: ReadonlySet<string>): boolean {
  if (overridden !== overriddenSet || overridden.size !== overriddenNames.length) {
    overriddenSet = overridden;
    overriddenNames = [...overridden];
  }
  const len = end - start;
  for (let i = 0; i < overriddenNames.length; i++) {
    const o = overriddenNames[i]!;
    if (o.length === len && key.startsWith(o, start)) return true;
  }
  return false;
}

/** Scratch for seriesIdentity: per pair its name start, name end and the end of its quoted value. */
let pairs: Int32Array = new Int32Array(48);

function growInt32(a: Int32Array): Int32Array {
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

function trimBlanks(s: string): string {
  let end = s.length;
  while (end > 0 && isBlank(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Compares two runs of `s` as strings (code unit order, as Array.prototype.sort does). */
function compareRuns(s: string, a: number, aLen: number, b: number, bLen: number): number {
  const n = Math.min(aLen, bLen);
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(a + i) - s.charCodeAt(b + i);
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

function escapeValue(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** seriesIdentity of a label set (points without their written text). */
export function labelsIdentity(labels: Labels, overridden: ReadonlySet<string>): string {
  const pairs: string[] = [];
  for (const n of Object.keys(labels)) {
    if (n !== '__name__' && !overridden.has(n) && labels[n] !== '') pairs.push(`${n}="${escapeValue(labels[n]!)}"`);
  }
  const name = labels['__name__'] ?? '';
  if (pairs.length === 0) return name;
  pairs.sort();
  return `${name}{${pairs.join(',')}}`;
}
