// The `le="+Inf"` bucket a classic histogram written in the text format implies. The Pushgateway parses a text push into
// the protobuf model, where the +Inf bucket is implicit (it is the sample count), and serves every histogram back with
// one: `x_bucket{le="+Inf"}` equal to `x_count` when the push wrote none. The text decoder (text.ts) does the same, so
// `histogram_quantile` over the relay's series works where it works over the Pushgateway's. Only where it is sound: an
// instance (family + labels other than `le`) with buckets and a `_count` but no +Inf bucket gets one. Without a
// `_count` nothing is made (the Pushgateway would serve `_count 0` and a +Inf bucket 0 below its finite buckets); a
// +Inf bucket that differs from the `_count` is kept as written (as the Pushgateway keeps it); an instance without
// buckets stays its `_sum` and `_count` alone, as a JSON line without "buckets" is (the Pushgateway would add a +Inf
// bucket: producers of one histogram in both formats would then sum to a +Inf bucket below the count).
// Cost: a few integer operations per bucket; one table entry per instance with buckets, per +Inf bucket, per `_count`.
import { seriesIdentity } from './identity.js';
import { finishHash, hashRun, pairHash, sameChars } from './text-lexing.js';

/** The pair hash of `le="+Inf"`, as the decoder hashes a label pair written so. */
const INF_PAIR_HASH = pairHash(hashRun('le', 0, 2), hashRun('+Inf', 0, 4));

/** An le value Go's ParseFloat reads as +Inf (the Pushgateway's parser): `+Inf`, `Inf`, `inf`, `+Infinity`, any case. */
export function isInfBound(t: string, at: number, end: number): boolean {
  if (at < end && t.charCodeAt(at) === 43) at++;
  const n = end - at;
  if ((n !== 3 && n !== 8) || (t.charCodeAt(at) | 32) !== 105) return false; // i or I
  const word = t.slice(at, end).toLowerCase();
  return word === 'inf' || word === 'infinity';
}

/** A +Inf bucket to add: its family, its key as if written, its identity hash, its value (the `_count`'s). */
export interface ImpliedBucket {
  family: string;
  key: string;
  hash: number;
  value: number;
  /** the `_count` it comes from: its line, its labels written */
  line: number;
  labels: number;
}

/** Fields of a +Inf bucket and of a `_count` (Int32Array rows: no object per sample). Ranges are in the text. */
const KEY_AT = 0; // the series as written: [KEY_AT, KEY_END)
const KEY_END = 1;
const INNER_AT = 2; // its label pairs: [INNER_AT, INNER_END) (empty without braces)
const INNER_END = 3;
const FAMILY = 4; // the family's number in the parse
const LE_AT = 5; // +Inf bucket: its le pair as written [LE_AT, LE_END); `_count`: its pairs hash, its labels written
const LE_END = 6;
const NEXT = 7; // +Inf bucket: the next one of the same instance hash (row + 1; 0: none); `_count`: its line
const PAIRS = 5;
const LABELS = 6;
const LINE = 7;
const ROW = 8;

function mixFamily(pairs: number, familyId: number): number {
  return finishHash((pairs + Math.imul(familyId + 1, 0x9e3779b1)) | 0);
}

function grow(a: Int32Array<ArrayBuffer>, rows: number): Int32Array<ArrayBuffer> {
  if ((rows + 1) * ROW <= a.length) return a;
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

/** The fields a +Inf bucket's row and a `_count`'s share, at row offset `r`. */
function setSeries(a: Int32Array, r: number, keyAt: number, keyEnd: number, innerAt: number, innerEnd: number, familyId: number): void {
  a[r + KEY_AT] = keyAt;
  a[r + KEY_END] = keyEnd;
  a[r + INNER_AT] = innerAt;
  a[r + INNER_END] = innerEnd;
  a[r + FAMILY] = familyId;
}

/** The histogram instances of one parse with buckets, with a +Inf bucket, and the `_count`s; then the buckets they imply. */
export class InfBuckets {
  /**
   * Instance hashes of the instances with buckets (an instance's buckets come one after another: one entry per run).
   * Two instances of one hash (by chance, or written so) may make an instance without buckets look as if it had some:
   * it then gets the +Inf bucket the Pushgateway gives it anyway.
   */
  private readonly withBuckets = new Set<number>();
  private lastBucket = 0;
  /** instance hash to the row + 1 of its last +Inf bucket (earlier ones chained by NEXT) */
  private readonly infByHash = new Map<number, number>();
  private infs = new Int32Array(16 * ROW);
  private infCount = 0;
  private counts = new Int32Array(16 * ROW);
  private countCount = 0;
  private readonly values: number[] = [];
  private readonly familyNames: string[] = [];

  /**
   * A `_bucket` (with an `le` label) of the family numbered `familyId`: `pairsHash` the sum of the pair hashes its
   * identity keeps (text.ts), `lePairHash` the le pair's part of it (0 when left out). Its instance hash, for infBucket.
   */
  bucket(familyId: number, pairsHash: number, lePairHash: number): number {
    const h = mixFamily((pairsHash - lePairHash) | 0, familyId);
    if (h !== this.lastBucket || this.withBuckets.size === 0) {
      this.withBuckets.add(h);
      this.lastBucket = h;
    }
    return h;
  }

  /** A `_bucket` whose le is +Inf, of instance hash `h` (from bucket); the ranges as for a row (see KEY_AT...). */
  infBucket(h: number, familyId: number, keyAt: number, keyEnd: number, innerAt: number, innerEnd: number, leAt: number, leEnd: number): void {
    const a = (this.infs = grow(this.infs, this.infCount));
    const r = this.infCount++ * ROW;
    setSeries(a, r, keyAt, keyEnd, innerAt, innerEnd, familyId);
    a[r + LE_AT] = leAt;
    a[r + LE_END] = leEnd;
    a[r + NEXT] = this.infByHash.get(h) ?? 0;
    this.infByHash.set(h, this.infCount);
  }

  /** A `_count` written without an `le` label: `labels` written, `pairsHash` as for bucket. */
  count(family: string, familyId: number, keyAt: number, keyEnd: number, innerAt: number, innerEnd: number, pairsHash: number, value: number, labels: number, line: number): void {
    const a = (this.counts = grow(this.counts, this.countCount));
    const r = this.countCount++ * ROW;
    setSeries(a, r, keyAt, keyEnd, innerAt, innerEnd, familyId);
    a[r + PAIRS] = pairsHash;
    a[r + LABELS] = labels;
    a[r + LINE] = line;
    this.values.push(value);
    this.familyNames[familyId] = family;
  }

  /**
   * The +Inf buckets to add, in the order of their `_count`s: one per `_count` whose instance has buckets, no +Inf one.
   * `overridden`: the labels the headers set (job, grouping), which the identity leaves out.
   */
  implied(t: string, overridden: () => ReadonlySet<string>): ImpliedBucket[] {
    const out: ImpliedBucket[] = [];
    const c = this.counts;
    for (let i = 0; i < this.countCount; i++) {
      const r = i * ROW;
      const h = mixFamily(c[r + PAIRS]!, c[r + FAMILY]!);
      if (!this.withBuckets.has(h)) continue;
      let found = false;
      for (let b = this.infByHash.get(h) ?? 0; b !== 0 && !found; b = this.infs[(b - 1) * ROW + NEXT]!) found = this.sameInstance(t, r, (b - 1) * ROW, overridden);
      if (found) continue;
      const family = this.familyNames[c[r + FAMILY]!]!;
      const name = `${family}_bucket`;
      let inner = t.slice(c[r + INNER_AT], c[r + INNER_END]).trimEnd();
      if (inner.trim() !== '' && !inner.endsWith(',')) inner += ',';
      out.push({
        family,
        key: `${name}{${inner}le="+Inf"}`,
        hash: finishHash((hashRun(name, 0, name.length) + c[r + PAIRS]! + INF_PAIR_HASH) | 0),
        value: this.values[i]!,
        line: c[r + LINE]!,
        labels: c[r + LABELS]! + 1,
      });
    }
    return out;
  }

  /**
   * Whether the `_count` at row `r` and the +Inf bucket at row `b` are one instance: the same family and labels but
   * `le`. Their label text equal but the bucket's le pair (and a comma beside it) is the common case (one registry, one
   * label order), compared in place; otherwise their identities without `le` (another order, blanks, empty values).
   */
  private sameInstance(t: string, r: number, b: number, overridden: () => ReadonlySet<string>): boolean {
    const c = this.counts;
    const f = this.infs;
    if (c[r + FAMILY] !== f[b + FAMILY]) return false;
    const innerAt = f[b + INNER_AT]!;
    const innerEnd = f[b + INNER_END]!;
    let cutAt = f[b + LE_AT]!;
    let cutEnd = f[b + LE_END]!;
    if (cutAt > innerAt && t.charCodeAt(cutAt - 1) === 44) cutAt--;
    else if (cutEnd < innerEnd && t.charCodeAt(cutEnd) === 44) cutEnd++;
    const head = cutAt - innerAt;
    const tail = innerEnd - cutEnd;
    const countAt = c[r + INNER_AT]!;
    if (head + tail === c[r + INNER_END]! - countAt && sameChars(t, countAt, innerAt, head) && sameChars(t, countAt + head, cutEnd, tail)) return true;
    const leftOut = new Set(overridden());
    leftOut.add('le');
    const countKey = seriesIdentity(t.slice(c[r + KEY_AT], c[r + KEY_END]), leftOut);
    return labelsOf(countKey) === labelsOf(seriesIdentity(t.slice(f[b + KEY_AT], f[b + KEY_END]), leftOut));
  }
}

/** An identity (`name{pairs}` or `name`) without its name. */
function labelsOf(identity: string): string {
  const brace = identity.indexOf('{');
  return brace < 0 ? '' : identity.slice(brace);
}
