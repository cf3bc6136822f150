/**
 * The input series of one scope (job + grouping labels other than producer labels), found by a point's key.
 *
 * A text point's key is its series as written (`name{a="1",b="2"}`): the same series may be written in another label
 * order or with other blanks (an exporter printing labels from a Go map, a hand-written push), and must stay one input
 * series, or a producer's counter would start from zero under each spelling. Such a key is first looked up as
 * written (the common case: a registry writes one order per family); when that misses, by its identity (the
 * decoder's `seriesIdentity`: pairs sorted, blanks, empty values and header-overridden labels left out), through an
 * index of identity hashes. A spelling found that way is not kept (a producer could write endless spellings): each
 * of its pushes takes that lookup again, its cost only.
 *
 * Producers of a job push the same series in the same order, push after push: `at` tries the input at the point's
 * position in the last push to this scope first (one string comparison), and the key is hashed only when that is
 * another series (a fresh key string is hashed in full: ~75 % of `apply`'s time went to that lookup).
 */
import { seriesIdentity } from '../decode/validate.js';
import { hashRun } from '../decode/text-lexing.js';
import type { InputSeries } from './series.js';

export class Scope {
  /** Read and iterate freely; add and remove only through `add` and `remove`. */
  readonly inputs = new Map<string, InputSeries>();
  /** The inputs of the last push to this scope by point position (dense: filled from position 0 up); only ever inputs in `inputs`. */
  private recent: InputSeries[] = [];
  /** Text inputs by the hash of their identity (an array where two identities share a hash). */
  private readonly identities = new Map<number, InputSeries | InputSeries[]>();
  /** The labels the headers set in this scope (job and its grouping label names): left out of text identities. */
  private readonly overridden: ReadonlySet<string>;
  /** The last key `respelled` hashed, and its identity hash. */
  private lastKey = '';
  private lastHash = 0;

  constructor(readonly key: string) {
    // `job`, then `\0name\0value` per grouping label (PartitionAggregate.apply; values hold no control character).
    const parts = key.split('\u0000');
    const names = new Set<string>(['job']);
    for (let i = 1; i < parts.length; i += 2) names.add(parts[i]!);
    this.overridden = names;
  }

  /** The input series at position `i` of the last push, when it is the one named `key` (else undefined: look it up). */
  at(i: number, key: string): InputSeries | undefined {
    const recent = this.recent;
    if (i >= recent.length) return undefined;
    const hit = recent[i]!;
    return hit.key === key ? hit : undefined;
  }

  /** `input` (in `inputs`) is the `i`-th point of the push being applied. */
  remember(i: number, input: InputSeries): void {
    const recent = this.recent;
    if (i < recent.length) recent[i] = input;
    else if (i === recent.length) recent.push(input);
  }

  /** The text input series that `key` (a text point's key, not in `inputs`) writes another way, if any. */
  respelled(key: string): InputSeries | undefined {
    if (this.identities.size === 0) return undefined;
    const identity = seriesIdentity(key, this.overridden);
    const h = hashRun(identity, 0, identity.length);
    // most often the key of a new series: `add` takes the hash from here
    this.lastKey = key;
    this.lastHash = h;
    const found = this.identities.get(h);
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return seriesIdentity(found.key, this.overridden) === identity ? found : undefined;
    for (const input of found) if (seriesIdentity(input.key, this.overridden) === identity) return input;
    return undefined;
  }

  add(input: InputSeries): void {
    this.inputs.set(input.key, input);
    const h = this.identityHash(input.key);
    if (h === undefined) return;
    const found = this.identities.get(h);
    if (found === undefined) this.identities.set(h, input);
    else if (Array.isArray(found)) found.push(input);
    else this.identities.set(h, [found, input]);
  }

  remove(input: InputSeries): void {
    this.inputs.delete(input.key);
    if (this.recent.length > 0) this.recent = [];
    const h = this.identityHash(input.key);
    if (h === undefined) return;
    const found = this.identities.get(h);
    if (found === input) this.identities.delete(h);
    else if (Array.isArray(found)) {
      const i = found.indexOf(input);
      if (i >= 0) found.splice(i, 1);
      if (found.length === 1) this.identities.set(h, found[0]!);
    }
  }

  /** The identity hash of a text key; undefined for a key the aggregate derived from labels (`labelsKey`: `name="…",…`). */
  private identityHash(key: string): number | undefined {
    if (key.length === 0) return undefined;
    if (key === this.lastKey) return this.lastHash;
    let i = 0;
    while (i < key.length && isNameChar(key.charCodeAt(i))) i++;
    if (key.charCodeAt(i) === 61) return undefined;
    const identity = seriesIdentity(key, this.overridden);
    return hashRun(identity, 0, identity.length);
  }
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 58;
}
