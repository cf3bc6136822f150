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

/** A sample of a histogram family as text.ts read it: where its series is written and what its labels hash to. */
export interface HistogramSample {
  /** the family, its name and a number for it unique in the parse */
  family: { name: string; id: number };
  /** the key as written (`name{...}`): [keyAt, keyEnd) in the text; its label pairs lie in [innerAt, innerEnd) */
  keyAt: number;
  keyEnd: number;
  innerAt: number;
  innerEnd: number;
  /** sum of the pair hashes the identity keeps (text.ts pairsHash), the `le` pair's included */
  pairsHash: number;
}

export interface InfBucket extends HistogramSample {
  /** the `le` pair as written: [leAt, leEnd) */
  leAt: number;
  leEnd: number;
}

export interface Count extends HistogramSample {
  value: number;
  /** labels written (the limits count them so) */
  labels: number;
  line: number;
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

/** The histogram instances of one parse with buckets, with a +Inf bucket, and the `_count`s; then the buckets they imply. */
export class InfBuckets {
  /**
   * Instance hashes of the instances with buckets (an instance's buckets come one after another: one entry per run).
   * Two instances of one hash (by chance, or written so) may make an instance without buckets look as if it had some:
   * it then gets the +Inf bucket the Pushgateway gives it anyway.
   */
  private readonly withBuckets = new Set<number>();
  private lastBucket = 0;
  private readonly infs = new Map<number, InfBucket | InfBucket[]>();
  private readonly counts: Count[] = [];

  /**
   * A `_bucket` (with an `le` label) of the family numbered `familyId`: `pairsHash` as for HistogramSample,
   * `lePairHash` the le pair's part of it (0 when left out). Its instance hash, for `infBucket`.
   */
  bucket(familyId: number, pairsHash: number, lePairHash: number): number {
    const h = finishHash((pairsHash - lePairHash + Math.imul(familyId + 1, 0x9e3779b1)) | 0);
    if (h !== this.lastBucket || this.withBuckets.size === 0) {
      this.withBuckets.add(h);
      this.lastBucket = h;
    }
    return h;
  }

  /** A `_bucket` whose le is +Inf, after `bucket` gave its instance hash `h`. */
  infBucket(entry: InfBucket, h: number): void {
    const old = this.infs.get(h);
    if (old === undefined) this.infs.set(h, entry);
    else if (Array.isArray(old)) old.push(entry);
    else this.infs.set(h, [old, entry]);
  }

  /** A `_count` written without an `le` label. */
  count(entry: Count): void {
    this.counts.push(entry);
  }

  /**
   * The +Inf buckets to add, in the order of their `_count`s: one per `_count` whose instance has buckets, no +Inf one.
   * `overridden`: the labels the headers set (job, grouping), which the identity leaves out.
   */
  implied(t: string, overridden: () => ReadonlySet<string>): ImpliedBucket[] {
    const out: ImpliedBucket[] = [];
    for (const c of this.counts) {
      const h = finishHash((c.pairsHash + Math.imul(c.family.id + 1, 0x9e3779b1)) | 0);
      if (!this.withBuckets.has(h)) continue;
      const found = this.infs.get(h);
      if (found !== undefined && (Array.isArray(found) ? found.some((b) => sameInstance(t, c, b, overridden)) : sameInstance(t, c, found, overridden))) continue;
      const name = `${c.family.name}_bucket`;
      let inner = t.slice(c.innerAt, c.innerEnd).trimEnd();
      if (inner.trim() !== '' && !inner.endsWith(',')) inner += ',';
      out.push({
        family: c.family.name,
        key: `${name}{${inner}le="+Inf"}`,
        hash: finishHash((hashRun(name, 0, name.length) + c.pairsHash + INF_PAIR_HASH) | 0),
        value: c.value,
        line: c.line,
        labels: c.labels + 1,
      });
    }
    return out;
  }
}

/**
 * Whether `count` and the +Inf `bucket` are one instance: the same family and labels but `le`. Their label text equal
 * but the bucket's le pair (and a comma beside it) is the common case (one registry, one label order), compared in
 * place; otherwise their identities without `le` are compared (another order, blanks, empty values).
 */
function sameInstance(t: string, count: Count, bucket: InfBucket, overridden: () => ReadonlySet<string>): boolean {
  if (count.family !== bucket.family) return false;
  let cutAt = bucket.leAt;
  let cutEnd = bucket.leEnd;
  if (cutAt > bucket.innerAt && t.charCodeAt(cutAt - 1) === 44) cutAt--;
  else if (cutEnd < bucket.innerEnd && t.charCodeAt(cutEnd) === 44) cutEnd++;
  const head = cutAt - bucket.innerAt;
  const tail = bucket.innerEnd - cutEnd;
  if (head + tail === count.innerEnd - count.innerAt && sameChars(t, count.innerAt, bucket.innerAt, head) && sameChars(t, count.innerAt + head, cutEnd, tail)) return true;
  const leftOut = new Set(overridden());
  leftOut.add('le');
  return labelsOf(seriesIdentity(t.slice(count.keyAt, count.keyEnd), leftOut)) === labelsOf(seriesIdentity(t.slice(bucket.keyAt, bucket.keyEnd), leftOut));
}

/** An identity (`name{pairs}` or `name`) without its name. */
function labelsOf(identity: string): string {
  const brace = identity.indexOf('{');
  return brace < 0 ? '' : identity.slice(brace);
}
