import type { Labels } from '@prom-relay/codec';
import { setLabel } from '@prom-relay/codec';

/** Canonical, injective string for a label set: names sorted, values JSON-quoted; `skip` names left out. */
export function labelsKey(labels: Labels, skip?: ReadonlySet<string>): string {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const name of names) {
    if (skip !== undefined && skip.has(name)) continue;
    key += name + '=' + JSON.stringify(labels[name]) + ',';
  }
  return key;
}

/**
 * `labelsKey` of a label set whose names are in the order `labelsKey` sorts them (the labels the aggregate and the
 * owner keep: `ownedSortedLabels`, `keptLabels`, `labelsFromKey`): its names in their own order, no sort. What a
 * series that keeps no key string is found by (key-index.ts).
 */
export function keyOfLabels(labels: Labels): string {
  // Pieces joined once: one flat string (`+=` makes a rope of ~4 nodes per label, garbage that cost a 100k-series
  // flush 3-4x its CPU).
  const parts = keyParts;
  let j = 0;
  for (const name in labels) {
    const value = labels[name]!;
    parts[j++] = name;
    if (quotesAsIs(value)) {
      parts[j++] = '="';
      parts[j++] = value;
      parts[j++] = '",';
    } else {
      parts[j++] = '=';
      parts[j++] = JSON.stringify(value);
      parts[j++] = ',';
    }
  }
  parts.length = j;
  const key = parts.join('');
  parts.length = 0;
  return key;
}
const keyParts: string[] = [];

/**
 * Whether `key` from position `at` is `keyOfLabels(labels)`, built from nothing: the name, `=`, the value as JSON and
 * `,` of each label in turn, compared in place (a value JSON quotes as it is, the common case, is not copied).
 */
export function labelsMatchKey(labels: Labels, key: string, at: number): boolean {
  for (const name in labels) {
    if (!key.startsWith(name, at)) return false;
    at += name.length;
    const value = labels[name]!;
    const end = at + value.length + 2;
    // The value as is between quotes is its JSON unless it holds a backslash or a quote (then what matched is an
    // escape, or runs over into the next label). No control character or lone surrogate is in a key as is.
    if (key.charCodeAt(at) === 61 && key.charCodeAt(at + 1) === 34 && key.startsWith(value, at + 2) && key.charCodeAt(end) === 34 && value.indexOf('\\') < 0 && value.indexOf('"') < 0) {
      at = end + 1;
    } else {
      // A value JSON escapes (a quote, backslash, control character or surrogate) is compared as its JSON.
      if (quotesAsIs(value) || key.charCodeAt(at) !== 61) return false;
      const quoted = JSON.stringify(value);
      if (!key.startsWith(quoted, at + 1)) return false;
      at += quoted.length + 1;
    }
    if (key.charCodeAt(at) !== 44) return false;
    at++;
  }
  return at === key.length;
}

/** `JSON.stringify(value)` is `value` in double quotes: no control character, quote, backslash or surrogate in it. */
function quotesAsIs(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

const interned = new Map<string, string>();
const MAX_INTERNED = 100_000;

/** One shared copy of a label name or metric family name (few distinct ones, repeated in every series). */
export function intern(s: string): string {
  const known = interned.get(s);
  if (known !== undefined) return known;
  const own = ownString(s);
  if (interned.size < MAX_INTERNED) interned.set(own, own);
  return own;
}

/**
 * A copy of `s` that shares no memory with a larger string: V8 slices (13+ chars) keep their parent, e.g. a whole
 * Kafka message body, alive for as long as the slice is held.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

const internedValues = new Map<string, string>();
const MAX_INTERNED_VALUES = 200_000;

/** Short label values repeat across series (status, method, region): keep one copy of each, up to a cap. */
export function internValue(s: string): string {
  if (s.length > 24) return ownString(s);
  const known = internedValues.get(s);
  if (known !== undefined) return known;
  const own = ownString(s);
  if (internedValues.size < MAX_INTERNED_VALUES) internedValues.set(own, own);
  return own;
}

const internedTails = new Map<string, string>();
const MAX_INTERNED_TAILS = 65_536;
const MAX_TAIL_LENGTH = 64;

/**
 * One shared copy of an input's key tail (InputSeries keyTail: its key after the head its scope's inputs share, i.e.
 * its last labels: `7",status="ok"}`, `0.25"}` of a bucket), which repeat across the series of a job's producers
 * (a tail of its own was ~32 B of an input). A cache, not a registry: cleared when it holds MAX_INTERNED_TAILS (tails
 * that never repeat — a request id last — cost one Map insert each and at most that many strings kept a while): ~4 MiB
 * full of tails of ~16 characters, ~7 MiB at most (most of it strings the inputs hold anyway). Long tails are copied,
 * not kept.
 */
export function internTail(s: string): string {
  if (s.length > MAX_TAIL_LENGTH) return ownString(s);
  const known = internedTails.get(s);
  if (known !== undefined) return known;
  const own = ownString(s);
  if (internedTails.size >= MAX_INTERNED_TAILS) internedTails.clear();
  internedTails.set(own, own);
  return own;
}

/** How many tails `internTail` holds now (tests, diagnosis). */
export function internedTailCount(): number {
  return internedTails.size;
}

/** A label set with names in sorted order and strings owned (safe to keep for the life of a series). */
export function ownedSortedLabels(labels: Labels): Labels {
  const names = Object.keys(labels).sort();
  let json = '{';
  for (let i = 0; i < names.length; i++) json += (i > 0 ? ',' : '') + JSON.stringify(names[i]) + ':""';
  return keptLabels(json + '}', names, (name) => labels[name]!);
}

/**
 * A label set kept for the life of a series, from the JSON object text of its names (values are filled in): built by
 * JSON.parse, whose objects hold exactly their properties in-object (64 B for 5 labels, where `{}` plus assignments
 * takes 96 B), with interned names and values.
 */
export function keptLabels(json: string, names: readonly string[], valueOf: (name: string, i: number) => string): Labels {
  const out = JSON.parse(json) as Labels;
  for (let i = 0; i < names.length; i++) setLabel(out, names[i]!, internValue(valueOf(names[i]!, i)));
  return out;
}

/** `labels` when its names are in sorted order (what keyOfLabels needs), else a sorted copy. */
export function inSortedOrder(labels: Labels): Labels {
  let before: string | null = null;
  for (const name in labels) {
    if (before !== null && !(before < name)) return ownedSortedLabels(labels);
    before = name;
  }
  return labels;
}

/** Builds a label set with sorted names from entries (names unique). */
export function sortedLabelsFrom(entries: Array<[string, string]>): Labels {
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Labels = {};
  for (const [name, value] of entries) setLabel(out, name, value);
  return out;
}
