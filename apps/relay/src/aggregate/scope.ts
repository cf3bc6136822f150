/**
 * The input series of one scope (job + grouping labels other than producer labels), found by a point's key.
 *
 * A text point's key is its series as written (`name{a="1",b="2"}`): the same series may be written in another label
 * order or with other blanks (an exporter printing labels from a Go map, a hand-written push), and must stay one input
 * series, or a producer's counter would start from zero under each spelling. So text inputs are indexed by the hash
 * of their identity (the decoder's `seriesIdentity`: pairs sorted, blanks, empty values and header-overridden labels
 * left out), the very hash the text decoder computed for each point while parsing (`seriesIdentityHash` computes it
 * again from a key, for a restore). A lookup compares the key as written with the inputs under that hash, and builds
 * identities only when none is spelled the same (a respelled series or two identities sharing a hash). The last key
 * an input was found by that way is kept beside it (one per input: a producer writing endless spellings costs no
 * more memory), so the pushes that follow find it by that key, at its position or in the index, building nothing.
 * One index for every key (no map by the key as written beside it, only that map of the other keys found): it costs
 * what the map by key cost. The hash is not a secret: a producer can write many series of one hash (FNV-1a
 * multicollisions are cheap to make), so a bucket of more than BIG_BUCKET inputs becomes a map by identity (V8's
 * seeded string hash): no lookup scans a long list.
 *
 * Keys the aggregate derived from labels (`labelsKey`: `name="…",…`: Remote Write, JSON lines, native histograms) are
 * indexed by the same identity (`labelsKeyIdentityHash`, `labelsKeyIdentity`: the hash and identity the series has
 * written as text), so one producer's series is one input series whichever format carried it (its counter baseline
 * shared: text then Remote Write is not counted twice). A lookup compares keys first, identities only when no key of
 * the bucket is the one looked up (another format or spelling, or another identity of the same hash).
 *
 * Producers of a job push the same series in the same order, push after push: `at` tries the input at the point's
 * position in the last push to this scope first (one string comparison), before any hashing.
 */
import type { InputPoint } from '../model.js';
import { labelsKeyIdentity, labelsKeyIdentityHash, seriesIdentity, seriesIdentityHash } from '../decode/identity.js';
import { textIdentityHash } from '../decode/text-point.js';
import { KeyIndex } from './key-index.js';
import { ownString } from './labels.js';
import type { InputSeries } from './series.js';

/** One input; a few whose hashes are equal; or, past BIG_BUCKET of them, a map by identity (`identityOf`). */
type Bucket = InputSeries | InputSeries[] | Map<string, InputSeries>;
const BIG_BUCKET = 8;
/** The shortest start of keys a scope's inputs share as a head (Scope.keyHead); how much longer a start may be before it replaces the head. */
const MIN_HEAD = 16;
const HEAD_SLACK = 16;
/** Joins an identity and a key in a big bucket's key (no series identity or key holds a control character). */
const SPELLING = '\u0001';

export class Scope {
  /**
   * Inputs by the hash of their identity (text and labels keys alike): a bucket per hash, by open addressing
   * (key-index.ts, hash-slots.ts: ~26 B a bucket where a V8 Map took 29–56 B an entry, 46 B at 20,000 in a scope).
   */
  private readonly index = new KeyIndex<Bucket, number>(bucketOfHash, hashItself);
  private count = 0;
  /** The inputs of the last push to this scope by point position (dense: filled from position 0 up); only ever inputs in the index. */
  private recent: InputSeries[] = [];
  /** The labels the headers set in this scope (job and its grouping label names): left out of text identities. */
  private readonly overridden: ReadonlySet<string>;
  /** The last key `find` missed (a copy), and its hash: most often a new series' key, which `add` takes next. */
  private lastKey = '';
  private lastHash = 0;
  /** The key of the input made last (a copy), and the head the inputs made since it was taken share (keyHead). */
  private prevKey = '';
  private head = '';
  /** The other key each input was last found by (another format or spelling), and back: null until there is one. */
  private otherKey: Map<InputSeries, string> | null = null;
  private byOtherKey: Map<string, InputSeries> | null = null;

  constructor(readonly key: string) {
    // `job`, then `\0name\0value` per grouping label (PartitionAggregate.apply; values hold no control character).
    const parts = key.split('\u0000');
    const names = new Set<string>(['job']);
    for (let i = 1; i < parts.length; i += 2) names.add(parts[i]!);
    this.overridden = names;
  }

  /** How many input series the scope holds. */
  get size(): number {
    return this.count;
  }

  /** Every input series, in a deterministic order (a restore that adds them in this order gets it back). */
  *values(): IterableIterator<InputSeries> {
    for (const found of this.index.values()) {
      if (Array.isArray(found)) for (const input of found.slice()) yield input;
      else if (found instanceof Map) for (const input of [...found.values()]) yield input;
      else yield found;
    }
  }

  /** Whether `input` is this scope's. */
  has(input: InputSeries): boolean {
    const found = this.index.get(this.hashOfInput(input));
    if (found instanceof Map) return found.get(this.slotOf(found, input)) === input;
    return found === input || (Array.isArray(found) && found.includes(input));
  }

  /** The input series at position `i` of the last push, when it is the one named `key` (else undefined: look it up). */
  at(i: number, key: string): InputSeries | undefined {
    const recent = this.recent;
    if (i >= recent.length) return undefined;
    const hit = recent[i]!;
    if (hit.keyIs(key)) return hit;
    return this.otherKey !== null && this.otherKey.get(hit) === key ? hit : undefined;
  }

  /** `input` (in the index) is the `i`-th point of the push being applied. */
  remember(i: number, input: InputSeries): void {
    const recent = this.recent;
    if (i < recent.length) recent[i] = input;
    else if (i === recent.length) recent.push(input);
  }

  /**
   * The input series of `key`: the point's key (`point.key`, a text series as written, its hash from the decoder when
   * it has one) or the key the aggregate derived from its labels (no `point`). The same series in the other kind of
   * key (or spelled another way) is found by its identity.
   */
  find(key: string, point?: InputPoint): InputSeries | undefined {
    const input = this.lookup(key, point);
    // A miss keeps its key and hash for the `add` that most often follows, the key as a copy: a text key is a slice of
    // its push's body, which a scope left alone after its last push would otherwise keep alive (a body per scope).
    this.lastKey = input === undefined ? ownString(key) : '';
    return input;
  }

  private lookup(key: string, point?: InputPoint): InputSeries | undefined {
    const text = point !== undefined && point.key !== undefined;
    const h = text ? (textIdentityHash(point, this.overridden) ?? seriesIdentityHash(key, this.overridden)) : labelsKeyIdentityHash(key, this.overridden);
    this.lastHash = h;
    const found = this.index.get(h);
    if (found === undefined) return undefined;
    if (found instanceof Map) {
      const known = this.byOtherKey?.get(key);
      if (known !== undefined) return known;
      // By identity; the input of this very key first where two inputs hold the identity (an older checkpoint's).
      const id = this.identityOf(key);
      const input = found.get(id);
      if (input === undefined || input.keyIs(key)) return input;
      return found.get(id + SPELLING + key) ?? this.foundBy(key, input);
    }
    if (!Array.isArray(found)) {
      if (found.keyIs(key)) return found;
    } else {
      for (let i = 0; i < found.length; i++) if (found[i]!.keyIs(key)) return found[i];
    }
    const known = this.byOtherKey?.get(key);
    if (known !== undefined) return known;
    // Another format or spelling of the series, or another identity with the same hash: compare identities.
    const identity = this.identityOf(key);
    if (!Array.isArray(found)) return this.identityOf(found.key) === identity ? this.foundBy(key, found) : undefined;
    for (const input of found) if (this.identityOf(input.key) === identity) return this.foundBy(key, input);
    return undefined;
  }

  /** `input`, found by its identity under `key`: kept as its other key (replacing the one before). */
  private foundBy(key: string, input: InputSeries): InputSeries {
    const otherKey = (this.otherKey ??= new Map());
    const byOtherKey = (this.byOtherKey ??= new Map());
    const before = otherKey.get(input);
    if (before !== undefined) byOtherKey.delete(before);
    const own = ownString(key);
    otherKey.set(input, own);
    byOtherKey.set(own, input);
    return input;
  }

  /** Input series by key as written or derived (no identity lookup). */
  get(key: string): InputSeries | undefined {
    const found = this.index.get(this.hashOf(key));
    if (found === undefined) return undefined;
    if (found instanceof Map) {
      const id = this.identityOf(key);
      const input = found.get(id);
      return input?.keyIs(key) ? input : found.get(id + SPELLING + key);
    }
    if (!Array.isArray(found)) return found.keyIs(key) ? found : undefined;
    return found.find((input) => input.keyIs(key));
  }

  /**
   * The head (a start of `key`) the input of `key`, being made, shares with inputs made before it in this scope
   * (InputSeries keyHead), or '' for none. A push's series differ in their last labels: the start they share with the
   * series made before them (at least MIN_HEAD characters) becomes the scope's head, kept while it starts the keys
   * made next and is not much shorter than what they share (HEAD_SLACK), so one head serves a push's series. Work
   * linear in the key; a key that shares nothing costs what it cost before (its whole key). `owned`:
   * `key` is a string of its own (a state's), not a slice of a push's body.
   */
  keyHead(key: string, owned = false): string {
    const prev = this.prevKey;
    const most = Math.min(prev.length, key.length);
    let shared = 0;
    while (shared < most && prev.charCodeAt(shared) === key.charCodeAt(shared)) shared++;
    this.prevKey = owned ? key : key === this.lastKey ? this.lastKey : ownString(key);
    const head = this.head;
    if (head.length > 0 && head.length + HEAD_SLACK >= shared && key.startsWith(head)) return head;
    if (shared < MIN_HEAD) return '';
    return (this.head = ownString(key.slice(0, shared)));
  }

  /** `input` (`key`: its key, where the caller holds it: no key is built to hash it). */
  add(input: InputSeries, key?: string): void {
    const h = key === undefined ? this.hashOfInput(input) : this.hashOf(key);
    const found = this.index.get(h);
    if (found === undefined) this.index.set(h, input);
    else if (found instanceof Map) this.addTo(found, input);
    else if (!Array.isArray(found)) this.index.set(h, [found, input]);
    else if (found.length < BIG_BUCKET) found.push(input);
    else {
      const big = new Map<string, InputSeries>();
      for (const e of found) this.addTo(big, e);
      this.addTo(big, input);
      this.index.set(h, big);
    }
    this.count++;
  }

  remove(input: InputSeries): void {
    if (this.recent.length > 0) this.recent = [];
    const other = this.otherKey?.get(input);
    if (other !== undefined) {
      this.otherKey!.delete(input);
      this.byOtherKey!.delete(other);
    }
    const h = this.hashOfInput(input);
    const found = this.index.get(h);
    if (found === input) {
      this.index.delete(h);
      this.count--;
    } else if (found instanceof Map) {
      const id = this.slotOf(found, input);
      if (found.get(id) !== input) return;
      found.delete(id);
      if (found.size === 0) this.index.delete(h);
      this.count--;
    } else if (Array.isArray(found)) {
      const i = found.indexOf(input);
      if (i < 0) return;
      found.splice(i, 1);
      if (found.length === 1) this.index.set(h, found[0]!);
      this.count--;
    }
  }

  /** What tells inputs apart in a big bucket, and one series in any format or spelling: its identity. */
  private identityOf(key: string): string {
    return isLabelsKey(key) ? labelsKeyIdentity(key, this.overridden) : seriesIdentity(key, this.overridden);
  }

  /**
   * An input's place in a big bucket: its identity, or, where another input holds that (two spellings of one series
   * as two inputs, from a checkpoint written before spellings were one series), its identity and its key.
   */
  private slotOf(big: Map<string, InputSeries>, input: InputSeries): string {
    const id = this.identityOf(input.key);
    return big.get(id) === input ? id : id + SPELLING + input.key;
  }

  private addTo(big: Map<string, InputSeries>, input: InputSeries): void {
    const id = this.identityOf(input.key);
    big.set(big.has(id) ? id + SPELLING + input.key : id, input);
  }

  /** The index hash of a key. */
  private hashOf(key: string): number {
    if (key === this.lastKey) return this.lastHash;
    return isLabelsKey(key) ? labelsKeyIdentityHash(key, this.overridden) : seriesIdentityHash(key, this.overridden);
  }

  /** The index hash of an input's key (its key built only when it is not the key `find` last missed). */
  private hashOfInput(input: InputSeries): number {
    return this.lastKey.length > 0 && input.keyIs(this.lastKey) ? this.lastHash : this.hashOf(input.key);
  }
}

/** A bucket found under a hash is that hash's (one bucket per hash). */
function bucketOfHash(): boolean {
  return true;
}

function hashItself(h: number): number {
  return h;
}

/** A key the aggregate derived from labels (`labelsKey`: a label name, then `=`; empty for no labels), not a text series as written. */
function isLabelsKey(key: string): boolean {
  let i = 0;
  while (i < key.length && isNameChar(key.charCodeAt(i))) i++;
  return key.length === 0 || (i < key.length && key.charCodeAt(i) === 61);
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 58;
}
