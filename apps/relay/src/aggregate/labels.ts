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

/** Builds a label set with sorted names from entries (names unique). */
export function sortedLabelsFrom(entries: Array<[string, string]>): Labels {
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Labels = {};
  for (const [name, value] of entries) setLabel(out, name, value);
  return out;
}
