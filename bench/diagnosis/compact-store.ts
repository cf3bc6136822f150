// A diagnosis for issue 14 goal 4 (memory per active output series ≤ prom-client's): what a compact aggregate store
// would hold and cost, measured, not wired into the relay. The store keeps, for counter totals, what the aggregate must
// keep per series: the canonical output key and the input key as the producer wrote it (bytes in one growable arena,
// no JS strings), one open-addressing Int32Array index per table by a keyed hash (HalfSipHash-1-3, random key per
// table: outputs by canonical key, inputs by scope + key as written), Float64Array columns for the running total and
// the producer's counter baseline, Int32Array columns for last-fed times, collect generation, job and the input →
// output link, plus the scope and producer tables of the workload (JS Maps: one entry per 100 series here).
//
// Workload: bench/relay-core.ts's `buildAggregate` (text pushes of 100 counter series, one producer per message, 50
// jobs, `instance` grouping), the same message bytes for both stores.
//
// Measures, each in a fresh child process:
// - `mem <n>`: heap + external (ArrayBuffer) growth per series after two GCs, the compact store built through the
//   real decoder (`decodeRecord`, labels only for series it creates). Beside it, bench/relay-core.ts `--child relay
//   <n>` (the current aggregate, the same workload) is run.
// - `cpu <n>`: the hot path "find this point's input by its key as written and add an increase to its output": both
//   stores built from the same decoded batches (decoded once: `decodeRecord` for the aggregate; a byte scan standing
//   for a decoder that hands on the key as a byte range of the message Buffer, checked equal to the decoder's key,
//   for the compact store), then rounds of re-applying every batch, interleaved (the order alternating), CPU time by
//   process.cpuUsage, medians of the rounds after WARM. The aggregate: `PartitionAggregate.apply` (in this workload
//   the positional try misses — a job's consecutive pushes come from different producers — so every point goes by
//   its identity hash, computed in apply, and a string comparison). The compact store: the keyed hash of scope +
//   key bytes, computed in the timed path, an Int32Array probe, an exact byte comparison of the key (never a
//   hash-only match), then baseline → increase → total; variants: the comparison by a JS byte loop or by
//   Buffer.compare on the message Buffer's range, and the key taken from the decoder's JS string written into a
//   scratch Buffer (what the store would cost with the decoder unchanged); and, to split the aggregate's figure, its
//   `seriesIdentityHash` of every key alone. At the end one more batch of higher values
//   goes to both and every total is compared.
// - `encode <n>`: Remote Write 1.0 of every output series, one sample each, in requests of 2,000 series (the push
//   client's maxSamplesPerRequest), uncompressed: the codec's `encodeWriteRequest` (the push client's encoder, label
//   pair cache warm) from prebuilt TimeSeries objects of the aggregate's labels, against an encoder writing the label
//   pairs straight from the canonical key bytes and the value from the total column, and against the canonical key
//   kept as the encoded Label messages themselves (copied whole); the bytes are checked equal. `collect()`, which
//   makes the aggregate's sample objects, is timed beside them.
// Not in the compact store's timed path (nor needed by this workload): the per-batch duplicate check and limits, the
// per-point type flags and value-range check, gauges, histograms, a second producer's baseline, respelled series.
//
// Run: node --conditions=@prom-relay/source --import tsx --expose-gc bench/diagnosis/compact-store.ts
//   (prints a markdown table; one child: `... compact-store.ts --child cpu 100000`)
// Options: COMPACT_SIZES (100000,1000000), COMPACT_ROUNDS (15; 7 at 1M), COMPACT_WARM (3), COMPACT_AGGREGATE (1; 0:
// skip the relay-core.ts memory children).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeWriteRequest } from '@prom-relay/codec';
import type { TimeSeries } from '@prom-relay/codec';
import { PartitionAggregate } from '../../apps/relay/src/aggregate/index.js';
import { seriesPush } from '../lib/core-workload.js';
import type { AggregateOptions } from '../../apps/relay/src/aggregate/index.js';
import { labelsKey } from '../../apps/relay/src/aggregate/labels.js';
import { decodeRecord } from '../../apps/relay/src/decode/index.js';
import { textIdentityHash } from '../../apps/relay/src/decode/text-point.js';
import { seriesIdentityHash } from '../../apps/relay/src/decode/validate.js';
import type { KafkaRecord } from '../../apps/relay/src/decode/index.js';
import type { IngestBatch } from '../../apps/relay/src/model.js';

setFlagsFromString('--expose-gc');
const gc = (globalThis.gc ?? runInNewContext('gc')) as () => void;
const log = (msg: string) => process.stderr.write(`[compact-store] ${msg}\n`);

/** bench/relay-core.ts's OPTIONS. */
const OPTIONS: AggregateOptions = {
  rules: [],
  seriesTtlMs: 3_600_000,
  producerTtlMs: 3_600_000,
  limits: { maxSeries: 5_000_000, maxLabelsPerSeries: 30, maxLabelValueLength: 1024 },
};
/** The relay's default producer labels: left out of output series and of the input scope (no rule reads them). */
const PRODUCER_LABELS: ReadonlySet<string> = new Set(['instance']);

/** Message `i` of bench/relay-core.ts's `buildAggregate`: 100 counter series, its own producer; `bump` raises every value. */
function record(i: number, bump = 0): KafkaRecord {
  return seriesPush(i, i, 0, 100, bump);
}

// ---------------------------------------------------------------------------------------------------------------
// The keyed hash: HalfSipHash-1-3 (32-bit SipHash variant, one compression round per word, three final), seeded with a
// random 64-bit key per table, over one 32-bit word (the scope) and then the bytes. A producer that does not know the
// key cannot write many series of one hash (the aggregate's FNV-1a identity hash needs a fallback for that).
// ---------------------------------------------------------------------------------------------------------------

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

interface HashKey {
  k0: number;
  k1: number;
}

function newHashKey(): HashKey {
  const b = randomBytes(8);
  return { k0: b.readInt32LE(0), k1: b.readInt32LE(4) };
}

/** `view` over the bytes: a word is one little-endian 32-bit load (four byte loads cost twice the hash). */
function keyedHash(key: HashKey, word: number, view: DataView, start: number, end: number): number {
  let v0 = key.k0 | 0;
  let v1 = key.k1 | 0;
  let v2 = 0x6c796765 ^ v0;
  let v3 = 0x74656462 ^ v1;
  const len = end - start;
  const whole = start + (len & ~3);
  let m = word | 0;
  let i = start;
  let last = false;
  // One compression round per message word: the scope word, each 4 bytes, then the tail with the length.
  for (;;) {
    v3 ^= m;
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
    v0 ^= m;
    if (last) break;
    if (i < whole) {
      m = view.getInt32(i, true);
      i += 4;
    } else {
      m = ((len + 4) & 0xff) << 24;
      const rest = end - i;
      if (rest >= 3) m |= view.getUint8(i + 2) << 16;
      if (rest >= 2) m |= view.getUint8(i + 1) << 8;
      if (rest >= 1) m |= view.getUint8(i);
      last = true;
    }
  }
  v2 ^= 0xff;
  for (let r = 0; r < 3; r++) {
    v0 = (v0 + v1) | 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  }
  return v1 ^ v3;
}

// ---------------------------------------------------------------------------------------------------------------
// The compact store
// ---------------------------------------------------------------------------------------------------------------

const GROW = 1.5;
const MAX_LOAD = 0.7;

function grownF64(a: Float64Array, n: number) {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
function grownI32(a: Int32Array, n: number) {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
function grownU16(a: Uint16Array, n: number) {
  const b = new Uint16Array(n);
  b.set(a);
  return b;
}
function grownU8(a: Uint8Array, n: number) {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}

/** How a point's key reaches the store: the bytes of a range (of the message Buffer, or of a scratch Buffer). */
type Compare = 'loop' | 'buffer';

/** A decoded push for the compact store: what a byte-level decoder would hand on. */
interface CompactBatch {
  job: string;
  producerId: string;
  /** the message body: each point's key is the range starts[i]..ends[i] of it (the series as written) */
  msg: Buffer;
  /** a DataView over `msg`, made with the batch (the keyed hash reads words through it) */
  view: DataView;
  starts: Int32Array;
  ends: Int32Array;
  values: Float64Array;
  /** the text decoder's point (its key string, labels on first use): for creating series and the string variant */
  points: IngestBatch['points'];
}

class CompactStore {
  arena = new Uint8Array(1 << 16);
  arenaUsed = 0;

  // Outputs (counter totals).
  outCount = 0;
  outCap = 1024;
  outKeyAt = new Int32Array(this.outCap);
  outKeyLen = new Uint16Array(this.outCap);
  outHash = new Int32Array(this.outCap);
  total = new Float64Array(this.outCap);
  outLastFed = new Int32Array(this.outCap);
  outFedGen = new Int32Array(this.outCap);
  outJob = new Int32Array(this.outCap);
  /** mode, rule, dropped */
  outBits = new Uint8Array(this.outCap);
  outSlots = new Int32Array(2048);
  readonly outKey = newHashKey();

  // Inputs.
  inCount = 0;
  inCap = 1024;
  inKeyAt = new Int32Array(this.inCap);
  inKeyLen = new Uint16Array(this.inCap);
  inHash = new Int32Array(this.inCap);
  inScope = new Int32Array(this.inCap);
  inOutput = new Int32Array(this.inCap);
  /** the (first) producer's last cumulative value; NaN: none yet (its first value is all increase) */
  baseline = new Float64Array(this.inCap);
  inLastFed = new Int32Array(this.inCap);
  /** type, flags */
  inBits = new Uint8Array(this.inCap);
  inSlots = new Int32Array(2048);
  readonly inKey = newHashKey();

  // Per scope, job and producer (one entry per 100 series in this workload).
  readonly scopes = new Map<string, number>();
  readonly jobs = new Map<string, number>();
  readonly producers = new Map<string, number>();
  producerLastSeen = new Int32Array(64);
  generation = 0;
  readonly epoch = Date.now();

  private scratch = Buffer.allocUnsafeSlow(4096);
  private scratchView = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.byteLength);

  /** Bytes the store's typed arrays hold, and what they would hold sized exactly (no growth slack). */
  bytes(): { held: number; exact: number } {
    const held =
      this.arena.byteLength +
      this.outCap * (4 + 2 + 4 + 8 + 4 + 4 + 4 + 1) +
      this.outSlots.byteLength +
      this.inCap * (4 + 2 + 4 + 4 + 4 + 8 + 4 + 1) +
      this.inSlots.byteLength +
      this.producerLastSeen.byteLength;
    const exact = this.arenaUsed + this.outCount * (31 + 4 / MAX_LOAD) + this.inCount * (31 + 4 / MAX_LOAD);
    return { held, exact };
  }

  private arenaAdd(src: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len > 0xffff) throw new Error('key longer than 65535 bytes');
    if (this.arenaUsed + len > this.arena.length) this.arena = grownU8(this.arena, Math.max(Math.ceil(this.arena.length * GROW), this.arenaUsed + len));
    this.arena.set(src.subarray(start, end), this.arenaUsed);
    const at = this.arenaUsed;
    this.arenaUsed += len;
    return at;
  }

  private static equalLoop(a: Uint8Array, at: number, len: number, src: Uint8Array, start: number, end: number): boolean {
    if (end - start !== len) return false;
    for (let k = 0; k < len; k++) if (a[at + k] !== src[start + k]) return false;
    return true;
  }

  // --- outputs ---

  /** The output of a canonical key (bytes), or -1. */
  findOutput(src: Uint8Array, start: number, end: number, h: number): number {
    const slots = this.outSlots;
    const mask = slots.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = slots[i]!;
      if (e === 0) return -1;
      const o = e - 1;
      if (this.outHash[o] === h && CompactStore.equalLoop(this.arena, this.outKeyAt[o]!, this.outKeyLen[o]!, src, start, end)) return o;
    }
  }

  private addOutput(src: Uint8Array, start: number, end: number, h: number, job: number): number {
    if (this.outCount === this.outCap) {
      const n = Math.ceil(this.outCap * GROW);
      this.outKeyAt = grownI32(this.outKeyAt, n);
      this.outKeyLen = grownU16(this.outKeyLen, n);
      this.outHash = grownI32(this.outHash, n);
      this.total = grownF64(this.total, n);
      this.outLastFed = grownI32(this.outLastFed, n);
      this.outFedGen = grownI32(this.outFedGen, n);
      this.outJob = grownI32(this.outJob, n);
      this.outBits = grownU8(this.outBits, n);
      this.outCap = n;
    }
    const o = this.outCount++;
    this.outKeyAt[o] = this.arenaAdd(src, start, end);
    this.outKeyLen[o] = end - start;
    this.outHash[o] = h;
    this.outJob[o] = job;
    if (this.outCount > this.outSlots.length * MAX_LOAD) this.outSlots = CompactStore.rehash(this.outSlots, this.outHash, this.outCount - 1);
    CompactStore.place(this.outSlots, h, o);
    return o;
  }

  // --- inputs ---

  /** The input of `scope` whose key as written is exactly the bytes src[start..end), or -1. */
  findInput(scope: number, src: Uint8Array, start: number, end: number, h: number, compare: Compare): number {
    const slots = this.inSlots;
    const mask = slots.length - 1;
    const hashes = this.inHash;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = slots[i]!;
      if (e === 0) return -1;
      const n = e - 1;
      if (hashes[n] !== h || this.inScope[n] !== scope) continue;
      const at = this.inKeyAt[n]!;
      const len = this.inKeyLen[n]!;
      if (compare === 'loop') {
        if (CompactStore.equalLoop(this.arena, at, len, src, start, end)) return n;
      } else if (end - start === len && (src as Buffer).compare(this.arena, at, at + len, start, end) === 0) return n;
    }
  }

  private addInput(scope: number, src: Uint8Array, start: number, end: number, h: number, output: number): number {
    if (this.inCount === this.inCap) {
      const n = Math.ceil(this.inCap * GROW);
      this.inKeyAt = grownI32(this.inKeyAt, n);
      this.inKeyLen = grownU16(this.inKeyLen, n);
      this.inHash = grownI32(this.inHash, n);
      this.inScope = grownI32(this.inScope, n);
      this.inOutput = grownI32(this.inOutput, n);
      this.baseline = grownF64(this.baseline, n);
      this.inLastFed = grownI32(this.inLastFed, n);
      this.inBits = grownU8(this.inBits, n);
      this.inCap = n;
    }
    const n = this.inCount++;
    this.inKeyAt[n] = this.arenaAdd(src, start, end);
    this.inKeyLen[n] = end - start;
    this.inHash[n] = h;
    this.inScope[n] = scope;
    this.inOutput[n] = output;
    this.baseline[n] = NaN;
    if (this.inCount > this.inSlots.length * MAX_LOAD) this.inSlots = CompactStore.rehash(this.inSlots, this.inHash, this.inCount - 1);
    CompactStore.place(this.inSlots, h, n);
    return n;
  }

  private static rehash(old: Int32Array, hashes: Int32Array, count: number) {
    const slots = new Int32Array(old.length * 2);
    for (let n = 0; n < count; n++) CompactStore.place(slots, hashes[n]!, n);
    return slots;
  }

  private static place(slots: Int32Array, h: number, id: number): void {
    const mask = slots.length - 1;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = id + 1;
  }

  private idOf(map: Map<string, number>, key: string): number {
    let id = map.get(key);
    if (id === undefined) {
      id = map.size;
      map.set(key, id);
    }
    return id;
  }

  /** A producer's push that may create series (the build): the apply path, with creation on a miss. */
  applyCreating(b: CompactBatch, nowMs: number): void {
    const now = nowMs - this.epoch;
    const scope = this.idOf(this.scopes, b.job);
    const job = this.idOf(this.jobs, b.job);
    const producer = this.idOf(this.producers, b.producerId);
    if (producer >= this.producerLastSeen.length) this.producerLastSeen = grownI32(this.producerLastSeen, this.producerLastSeen.length * 2);
    this.producerLastSeen[producer] = now;
    for (let i = 0; i < b.starts.length; i++) {
      const s = b.starts[i]!;
      const e = b.ends[i]!;
      const h = keyedHash(this.inKey, scope, b.view, s, e);
      let n = this.findInput(scope, b.msg, s, e, h, 'loop');
      if (n < 0) {
        // A new input: its output by the canonical key of its labels (producer labels left out), made when missing.
        const key = labelsKey(b.points[i]!.labels, PRODUCER_LABELS);
        const len = this.scratchWrite(key);
        const oh = keyedHash(this.outKey, 0, this.scratchView, 0, len);
        let o = this.findOutput(this.scratch, 0, len, oh);
        if (o < 0) o = this.addOutput(this.scratch, 0, len, oh, job);
        n = this.addInput(scope, b.msg, s, e, h, o);
      }
      this.feed(n, b.values[i]!, now);
    }
  }

  private scratchWrite(s: string): number {
    const need = Buffer.byteLength(s);
    if (need > this.scratch.length) {
      this.scratch = Buffer.allocUnsafeSlow(need * 2);
      this.scratchView = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.byteLength);
    }
    return this.scratch.write(s, 0, 'utf8');
  }

  private feed(n: number, v: number, now: number): void {
    const last = this.baseline[n]!;
    // A new producer starts at zero (NaN baseline): its first value is all increase; a drop is a reset.
    const increase = last !== last || v < last ? v : v - last;
    this.baseline[n] = v;
    this.inLastFed[n] = now;
    const o = this.inOutput[n]!;
    this.total[o] = this.total[o]! + increase;
    this.outLastFed[o] = now;
    this.outFedGen[o] = this.generation;
  }

  /**
   * The timed hot path: every point of a push of known series, found by its key bytes (a range of `b.msg`) and fed.
   * Returns how many points were fed (a miss would create a series; none here).
   */
  applyKnown(b: CompactBatch, nowMs: number, compare: Compare): number {
    const now = nowMs - this.epoch;
    const scope = this.scopes.get(b.job)!;
    this.producerLastSeen[this.producers.get(b.producerId)!] = now;
    const starts = b.starts;
    const ends = b.ends;
    const values = b.values;
    const msg = b.msg;
    const view = b.view;
    let fed = 0;
    for (let i = 0; i < starts.length; i++) {
      const s = starts[i]!;
      const e = ends[i]!;
      const n = this.findInput(scope, msg, s, e, keyedHash(this.inKey, scope, view, s, e), compare);
      if (n < 0) continue;
      this.feed(n, values[i]!, now);
      fed++;
    }
    return fed;
  }

  /** The same with the key from the decoder's JS string (`point.key`) written into a scratch Buffer first. */
  applyKnownFromStrings(b: CompactBatch, nowMs: number): number {
    const now = nowMs - this.epoch;
    const scope = this.scopes.get(b.job)!;
    this.producerLastSeen[this.producers.get(b.producerId)!] = now;
    const points = b.points;
    const values = b.values;
    let fed = 0;
    for (let i = 0; i < points.length; i++) {
      const len = this.scratchWrite(points[i]!.key!);
      const n = this.findInput(scope, this.scratch, 0, len, keyedHash(this.inKey, scope, this.scratchView, 0, len), 'loop');
      if (n < 0) continue;
      this.feed(n, values[i]!, now);
      fed++;
    }
    return fed;
  }

  /** Only the keyed hash of every point's key (to split the hot path's cost). */
  hashOnly(b: CompactBatch): number {
    let x = 0;
    for (let i = 0; i < b.starts.length; i++) x ^= keyedHash(this.inKey, 1, b.view, b.starts[i]!, b.ends[i]!);
    return x;
  }

  outputKey(o: number): string {
    const at = this.outKeyAt[o]!;
    return Buffer.from(this.arena.buffer, this.arena.byteOffset + at, this.outKeyLen[o]!).toString('utf8');
  }
}

/**
 * The compact store's view of a decoded push: each point's key as the byte range of the message body a byte-level
 * decoder would hand on (a line's series text: the name, and the braces with their quoted values), checked equal to
 * the text decoder's key, and its value from the decoder.
 */
function compactBatch(rec: KafkaRecord, batch: IngestBatch): CompactBatch {
  const msg = rec.value!;
  const n = batch.points.length;
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  const values = new Float64Array(n);
  let k = 0;
  let pos = 0;
  while (pos < msg.length) {
    let eol = msg.indexOf(10, pos);
    if (eol < 0) eol = msg.length;
    if (eol > pos && msg[pos] !== 35 /* # */) {
      let i = pos;
      while (i < eol && msg[i] !== 123 /* { */ && msg[i] !== 32 && msg[i] !== 9) i++;
      if (msg[i] === 123) {
        // Quoted values may hold `}` and blanks; a backslash escapes the next byte.
        let quoted = false;
        for (i++; i < eol; i++) {
          const c = msg[i]!;
          if (quoted) {
            if (c === 92) i++;
            else if (c === 34) quoted = false;
          } else if (c === 34) quoted = true;
          else if (c === 125) break;
        }
        i++;
      }
      const p = batch.points[k]!;
      if (msg.toString('utf8', pos, i) !== p.key) throw new Error(`byte range ${pos}..${i} is not the decoder's key ${p.key}`);
      starts[k] = pos;
      ends[k] = i;
      values[k] = p.value;
      k++;
    }
    pos = eol + 1;
  }
  if (k !== n) throw new Error(`found ${k} series lines, the decoder ${n} points`);
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  return { job: batch.job, producerId: batch.producerId, msg, view, starts, ends, values, points: batch.points };
}

// ---------------------------------------------------------------------------------------------------------------
// Remote Write 1.0 straight from the canonical key bytes
// ---------------------------------------------------------------------------------------------------------------

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes a varint of a non-negative integer below 2^53 at `pos`; answers the position after it. */
function putVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

function int64Size(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** A growable output buffer for one request at a time. */
class RawWriter {
  buf = Buffer.allocUnsafeSlow(1 << 20);
  view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  ensure(pos: number, n: number): void {
    if (pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, pos + n));
    this.buf.copy(next, 0, 0, pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
  /** An owned copy of the first `pos` bytes (what `encodeWriteRequest` returns too). */
  take(pos: number): Uint8Array {
    const copy = Buffer.allocUnsafe(pos);
    this.buf.copy(copy, 0, 0, pos);
    return copy;
  }
}

/** Writes a Sample (the total, the flush time) at `pos`; answers the position after it. */
function putSample(w: RawWriter, pos: number, value: number, ts: number, sampleBody: number): number {
  const buf = w.buf;
  buf[pos++] = 0x12;
  buf[pos++] = sampleBody; // < 128
  if (value !== 0 || 1 / value < 0) {
    buf[pos++] = 0x09;
    w.view.setFloat64(pos, value, true);
    pos += 8;
  }
  if (ts !== 0) {
    buf[pos++] = 0x10;
    pos = putVarint(buf, pos, ts);
  }
  return pos;
}

/**
 * Requests of `perRequest` series, each output's label pairs written from its canonical key (`name="value",…`, names
 * sorted: the order Remote Write wants) and its total as one sample at `ts`, in one pass: a name or value is copied
 * while it is scanned for its end, its length prefix (one byte reserved) filled in after; the series' length takes
 * two bytes reserved, moved when one suffices. A pair of 128 bytes or more or a value holding a backslash (a JSON
 * escape, to unescape) would take a slower path: not in this workload, refused here so the sketch claims nothing it
 * does not do.
 */
function encodeFromTextKeys(store: CompactStore, ts: number, perRequest: number, out: Uint8Array[]): void {
  const w = new RawWriter();
  const arena = store.arena;
  const tsSize = int64Size(ts);
  for (let first = 0; first < store.outCount; first += perRequest) {
    let pos = 0;
    const last = Math.min(store.outCount, first + perRequest);
    for (let o = first; o < last; o++) {
      let i = store.outKeyAt[o]!;
      const end = i + store.outKeyLen[o]!;
      w.ensure(pos, 2 * (end - i) + 32);
      const buf = w.buf;
      const seriesAt = pos;
      buf[pos] = 0x0a;
      pos += 3;
      while (i < end) {
        const pairAt = pos;
        buf[pos] = 0x0a;
        buf[pos + 2] = 0x0a;
        pos += 4;
        const nameAt = pos;
        let c = arena[i]!;
        while (c !== 61) {
          buf[pos++] = c;
          c = arena[++i]!;
        }
        buf[nameAt - 1] = pos - nameAt;
        i += 2; // `="`
        buf[pos] = 0x12;
        pos += 2;
        const valueAt = pos;
        c = arena[i]!;
        while (c !== 34) {
          if (c === 92) throw new Error('escaped label value: the sketch copies plain values only');
          buf[pos++] = c;
          c = arena[++i]!;
        }
        if (pos === valueAt) pos -= 2; // an empty value is left out (the codec does the same)
        else buf[valueAt - 1] = pos - valueAt;
        const body = pos - pairAt - 2;
        if (body > 127 || valueAt - nameAt > 129) throw new Error('a label pair of 128 bytes or more: the sketch handles short pairs only');
        buf[pairAt + 1] = body;
        i += 2; // `",`
      }
      const value = store.total[o]!;
      const sampleBody = (value !== 0 || 1 / value < 0 ? 9 : 0) + (ts !== 0 ? 1 + tsSize : 0);
      pos = putSample(w, pos, value, ts, sampleBody);
      const seriesBody = pos - seriesAt - 3;
      if (seriesBody < 0x80) {
        buf.copyWithin(seriesAt + 2, seriesAt + 3, pos);
        buf[seriesAt + 1] = seriesBody;
        pos--;
      } else if (seriesBody < 0x4000) {
        buf[seriesAt + 1] = (seriesBody & 0x7f) | 0x80;
        buf[seriesAt + 2] = seriesBody >> 7;
      } else throw new Error('a series of 16 KiB or more: the sketch handles shorter ones only');
    }
    out.push(w.take(pos));
  }
}

/**
 * The other way to keep the canonical key: as the Remote Write Label messages themselves (names sorted, each field
 * length-prefixed: as injective as the text form, 2 bytes more per label), so a flush copies them whole.
 */
interface WireKeys {
  arena: Buffer;
  at: Int32Array;
  len: Uint16Array;
}

function wireKeysOf(store: CompactStore): WireKeys {
  const parts: Uint8Array[] = [];
  encodeFromTextKeys(store, 0, 1, parts); // one series per request: 0x0a, length, the Label messages, the Sample
  const at = new Int32Array(store.outCount);
  const len = new Uint16Array(store.outCount);
  let total = 0;
  const bodies = parts.map((p, o) => {
    let i = 1;
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = p[i++]!;
      n += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) break;
    }
    return p.subarray(i, i + n - 2 - (store.total[o]! !== 0 ? 9 : 0)); // without the Sample (its value, no time)
  });
  for (const b of bodies) total += b.length;
  const arena = Buffer.allocUnsafeSlow(total);
  let pos = 0;
  bodies.forEach((b, o) => {
    at[o] = pos;
    len[o] = b.length;
    arena.set(b, pos);
    pos += b.length;
  });
  return { arena, at, len };
}

function encodeFromWireKeys(store: CompactStore, keys: WireKeys, ts: number, perRequest: number, out: Uint8Array[]): void {
  const w = new RawWriter();
  const arena = keys.arena;
  const tsSize = int64Size(ts);
  for (let first = 0; first < store.outCount; first += perRequest) {
    let pos = 0;
    const last = Math.min(store.outCount, first + perRequest);
    for (let o = first; o < last; o++) {
      const at = keys.at[o]!;
      const len = keys.len[o]!;
      const value = store.total[o]!;
      const sampleBody = (value !== 0 || 1 / value < 0 ? 9 : 0) + (ts !== 0 ? 1 + tsSize : 0);
      const seriesBody = len + 2 + sampleBody;
      w.ensure(pos, seriesBody + 8);
      const buf = w.buf;
      buf[pos++] = 0x0a;
      pos = putVarint(buf, pos, seriesBody);
      arena.copy(buf, pos, at, at + len);
      pos += len;
      pos = putSample(w, pos, value, ts, sampleBody);
    }
    out.push(w.take(pos));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------------------------------------------

const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;

interface MemFigures {
  heap: number;
  external: number;
  held: number;
  exact: number;
  outputs: number;
  inputs: number;
  arena: number;
}

function memChild(n: number): MemFigures {
  // Warm the decoder and the store's code on other series first (module caches such as interned names fill here).
  const warm = new CompactStore();
  for (let i = 0; i < 20; i++) {
    const rec = record(1_000_000_000 + i);
    warm.applyCreating(compactBatch(rec, decodeRecord(rec, {})), Date.now());
  }
  gc();
  gc();
  const m0 = process.memoryUsage();
  const store = new CompactStore();
  const now = Date.now();
  for (let i = 0; i < n / 100; i++) {
    const rec = record(i);
    store.applyCreating(compactBatch(rec, decodeRecord(rec, {})), now);
  }
  gc();
  gc();
  const m1 = process.memoryUsage();
  if (store.outCount !== n || store.inCount !== n) throw new Error(`expected ${n} series, got ${store.outCount} outputs, ${store.inCount} inputs`);
  const { held, exact } = store.bytes();
  return { heap: m1.heapUsed - m0.heapUsed, external: m1.external - m0.external, held, exact, outputs: store.outCount, inputs: store.inCount, arena: store.arenaUsed };
}

interface CpuFigures {
  points: number;
  rounds: number;
  /** median CPU ns per point */
  aggregate: number;
  compactLoop: number;
  compactBuffer: number;
  compactString: number;
  hashOnly: number;
  /** the aggregate's `seriesIdentityHash` of every point's key alone (what its scope lookup computes here) */
  identityHash: number;
  /** each variant's rounds (ns per point), for the spread */
  spread: Record<string, [number, number]>;
}

function cpuChild(n: number): CpuFigures {
  const ROUNDS = Number(process.env.COMPACT_ROUNDS ?? (n >= 1_000_000 ? 7 : 15));
  const WARM = Number(process.env.COMPACT_WARM ?? 3);
  const now = Date.now();
  log(`cpu ${n}: decoding ${n / 100} messages both ways`);
  const batches: IngestBatch[] = [];
  const compact: CompactBatch[] = [];
  for (let i = 0; i < n / 100; i++) {
    const rec = record(i);
    const b = decodeRecord(rec, {});
    batches.push(b);
    compact.push(compactBatch(rec, b));
  }
  log(`cpu ${n}: building both stores`);
  const agg = new PartitionAggregate(OPTIONS);
  for (const b of batches) agg.apply(b, now);
  const store = new CompactStore();
  for (const b of compact) store.applyCreating(b, now);
  if (agg.seriesCount !== n || store.outCount !== n) throw new Error(`series: aggregate ${agg.seriesCount}, compact ${store.outCount}`);
  for (let o = 0; o < store.outCount; o++) {
    const key = store.outputKey(o);
    if (agg.outputSeries(key)?.key !== key) throw new Error(`compact output ${key} is not an aggregate output key`);
  }
  const points = n;
  const runs: Record<string, number[]> = { aggregate: [], loop: [], buffer: [], string: [], hash: [], identity: [] };
  // The scope of these pushes leaves the producer label `instance` out, so its overridden labels ({job}) are not the
  // header's ({job, instance}) and the decoder's identity hash does not serve: Scope.find computes it again per point.
  const overridden: ReadonlySet<string> = new Set(['job']);
  if (textIdentityHash(batches[0]!.points[0]!, overridden) !== undefined) throw new Error("the decoder's identity hash serves this scope: the aggregate does not hash again");
  const variants: Array<[string, () => number]> = [
    [
      'aggregate',
      () => {
        let fed = 0;
        for (const b of batches) fed += agg.apply(b, now + 1).accepted;
        return fed;
      },
    ],
    [
      'loop',
      () => {
        let fed = 0;
        for (const b of compact) fed += store.applyKnown(b, now + 1, 'loop');
        return fed;
      },
    ],
    [
      'buffer',
      () => {
        let fed = 0;
        for (const b of compact) fed += store.applyKnown(b, now + 1, 'buffer');
        return fed;
      },
    ],
    [
      'string',
      () => {
        let fed = 0;
        for (const b of compact) fed += store.applyKnownFromStrings(b, now + 1);
        return fed;
      },
    ],
    [
      'hash',
      () => {
        let x = 0;
        for (const b of compact) x ^= store.hashOnly(b);
        return x === 0.5 ? 0 : points;
      },
    ],
    [
      'identity',
      () => {
        let x = 0;
        for (const b of batches) for (const p of b.points) x ^= seriesIdentityHash(p.key!, overridden);
        return x === 0.5 ? 0 : points;
      },
    ],
  ];
  for (let r = 0; r < WARM + ROUNDS; r++) {
    const order = r % 2 === 0 ? variants : variants.slice().reverse();
    for (const [name, run] of order) {
      gc();
      const t0 = cpuNs();
      const fed = run();
      const ns = (cpuNs() - t0) / points;
      if (fed !== points) throw new Error(`${name} fed ${fed} of ${points} points`);
      if (r >= WARM) runs[name]!.push(ns);
    }
    log(`cpu ${n}: round ${r + 1}/${WARM + ROUNDS}${r < WARM ? ' (warm-up)' : ''}: ${Object.entries(runs).map(([k, v]) => `${k} ${v.at(-1)?.toFixed(0) ?? '-'}`).join(', ')} ns/point`);
  }
  // One more push of every producer, values raised by 7: both stores' totals must agree exactly.
  for (let i = 0; i < n / 100; i++) {
    const rec = record(i, 7);
    const b = decodeRecord(rec, {});
    agg.apply(b, now + 2);
    const cb = compactBatch(rec, b);
    if (store.applyKnown(cb, now + 2, 'loop') !== 100) throw new Error('a known series was not found');
  }
  const totals = new Map(agg.collect(now + 3).map((s) => [s.key!, s.value]));
  for (let o = 0; o < store.outCount; o++) {
    if (totals.get(store.outputKey(o)) !== store.total[o]) throw new Error(`total of ${store.outputKey(o)}: aggregate ${totals.get(store.outputKey(o))}, compact ${store.total[o]}`);
  }
  const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
  return {
    points,
    rounds: ROUNDS,
    aggregate: median(runs.aggregate!),
    compactLoop: median(runs.loop!),
    compactBuffer: median(runs.buffer!),
    compactString: median(runs.string!),
    hashOnly: median(runs.hash!),
    identityHash: median(runs.identity!),
    spread: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, range(v)])),
  };
}

interface EncodeFigures {
  series: number;
  requests: number;
  bytes: number;
  /** median CPU ms per flush of every series */
  fromLabels: number;
  fromKeys: number;
  /** the canonical key kept as the encoded Label messages */
  fromWire: number;
  collect: number;
  /** canonical key bytes per series: text form, wire form */
  textKeyBytes: number;
  wireKeyBytes: number;
}

function encodeChild(n: number): EncodeFigures {
  const ROUNDS = 15;
  const WARM = 5;
  const now = Date.now();
  const agg = new PartitionAggregate(OPTIONS);
  const store = new CompactStore();
  for (let i = 0; i < n / 100; i++) {
    const rec = record(i);
    const b = decodeRecord(rec, {});
    agg.apply(b, now);
    store.applyCreating(compactBatch(rec, b), now);
  }
  const ts = now;
  const samples = agg.collect(now);
  // TimeSeries objects as handed to the push client (labels objects of the aggregate, one sample), made once.
  const series: TimeSeries[] = samples.map((s) => ({ labels: s.labels, samples: [{ value: s.value, timestamp: ts }] }));
  const PER = 2000;
  const viaLabels = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < series.length; i += PER) out.push(encodeWriteRequest({ timeseries: series.slice(i, i + PER) }));
    return out;
  };
  const viaKeys = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    encodeFromTextKeys(store, ts, PER, out);
    return out;
  };
  const wire = wireKeysOf(store);
  const viaWire = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    encodeFromWireKeys(store, wire, ts, PER, out);
    return out;
  };
  const a = Buffer.concat(viaLabels());
  for (const [name, via] of [
    ['text keys', viaKeys],
    ['wire keys', viaWire],
  ] as const) {
    const b = Buffer.concat(via());
    if (!a.equals(b)) throw new Error(`encoded bodies differ (${name}): ${a.length} vs ${b.length} bytes`);
  }
  const labelsRuns: number[] = [];
  const keysRuns: number[] = [];
  const wireRuns: number[] = [];
  const collectRuns: number[] = [];
  for (let r = 0; r < WARM + ROUNDS; r++) {
    const steps: Array<[number[], () => unknown]> = [
      [labelsRuns, viaLabels],
      [keysRuns, viaKeys],
      [wireRuns, viaWire],
      [collectRuns, () => agg.collect(now)],
    ];
    if (r % 2 === 1) steps.reverse();
    for (const [runs, fn] of steps) {
      gc();
      const t0 = cpuNs();
      fn();
      if (r >= WARM) runs.push((cpuNs() - t0) / 1e6);
    }
  }
  const textKeyBytes = store.arenaUsed / 2; // (inputs and outputs share the arena: report the outputs' own below)
  let outputKeyBytes = 0;
  for (let o = 0; o < store.outCount; o++) outputKeyBytes += store.outKeyLen[o]!;
  return {
    series: n,
    requests: Math.ceil(n / PER),
    bytes: a.length,
    fromLabels: median(labelsRuns),
    fromKeys: median(keysRuns),
    fromWire: median(wireRuns),
    collect: median(collectRuns),
    textKeyBytes: textKeyBytes > 0 ? outputKeyBytes / n : 0,
    wireKeyBytes: wire.arena.length / n,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Main: one child process per measure and size
// ---------------------------------------------------------------------------------------------------------------

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

function inChild<T>(script: string, args: string[]): T {
  const run = spawnSync(process.execPath, [...process.execArgv, script, '--child', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (run.status !== 0) throw new Error(`child ${args.join(' ')} failed: ${run.status ?? run.signal}`);
  return JSON.parse(run.stdout) as T;
}

async function main() {
  const self = fileURLToPath(import.meta.url);
  const relayCore = fileURLToPath(new URL('../relay-core.ts', import.meta.url));
  const sizes = (process.env.COMPACT_SIZES ?? '100000,1000000').split(',').map(Number);
  const withAggregate = process.env.COMPACT_AGGREGATE !== '0';
  const rows: string[] = [];
  const loads: string[] = [];
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  for (const n of sizes) {
    loads.push(`mem ${n}: ${load()}`);
    log(`mem ${n} (compact store)`);
    const m = inChild<MemFigures>(self, ['mem', String(n)]);
    let agg = '—';
    if (withAggregate) {
      log(`mem ${n} (aggregate: relay-core.ts --child relay ${n})`);
      const a = inChild<{ heap: number; rss: number }>(relayCore, ['relay', String(n)]);
      agg = `${fmt(a.heap / n)} B heap (bench/relay-core.ts \`--child relay ${n}\`)`;
    }
    rows.push(
      `| memory per active series at ${fmt(n)}: heap + external after two GCs | ${fmt((m.heap + m.external) / n)} B (heap ${fmt(m.heap / n)} + external ${fmt(m.external / n)}; typed arrays held ${fmt(m.held / n)}, sized exactly ${fmt(m.exact / n)}; key bytes ${fmt(m.arena / n)}) | ${agg} |`,
    );
    loads.push(`cpu ${n}: ${load()}`);
    log(`cpu ${n}`);
    const c = inChild<CpuFigures>(self, ['cpu', String(n)]);
    const sp = (k: string) => `${c.spread[k]![0].toFixed(0)}–${c.spread[k]![1].toFixed(0)}`;
    rows.push(
      `| lookup + feed at ${fmt(n)} series, CPU ns per point (median of ${c.rounds} rounds; range) | key bytes from the message Buffer, JS byte compare: ${c.compactLoop.toFixed(0)} (${sp('loop')}); the same with Buffer.compare: ${c.compactBuffer.toFixed(0)} (${sp('buffer')}); key from the decoder's string into a scratch Buffer: ${c.compactString.toFixed(0)} (${sp('string')}); of which the keyed hash alone: ${c.hashOnly.toFixed(0)} (${sp('hash')}) | ${c.aggregate.toFixed(0)} (${sp('aggregate')}) (\`PartitionAggregate.apply\`; of which \`seriesIdentityHash\` alone: ${c.identityHash.toFixed(0)} (${sp('identity')})) |`,
    );
  }
  loads.push(`encode: ${load()}`);
  log('encode 100000');
  const e = inChild<EncodeFigures>(self, ['encode', '100000']);
  rows.push(
    `| Remote Write 1.0 of ${fmt(e.series)} series, one sample each, ${e.requests} requests (${(e.bytes / 1e6).toFixed(1)} MB, bodies equal), CPU ms per flush (median of 15) | ${e.fromKeys.toFixed(1)} (label pairs from the canonical key bytes, ${e.textKeyBytes.toFixed(0)} B/series, value from the total column); ${e.fromWire.toFixed(1)} with the canonical key kept as the encoded Label messages (${e.wireKeyBytes.toFixed(0)} B/series), copied whole | ${e.fromLabels.toFixed(1)} (codec \`encodeWriteRequest\` of TimeSeries objects, made beforehand; \`collect()\` that makes them: ${e.collect.toFixed(1)}) |`,
  );
  loads.push(`end: ${load()}`);
  process.stdout.write(
    ['| measure | compact store | current aggregate |', '| --- | --- | --- |', ...rows, '', `Load average (1, 5, 15 min) before each child: ${loads.join('; ')}.`, ''].join('\n'),
  );
}

const childAt = process.argv.indexOf('--child');
if (childAt !== -1) {
  const what = process.argv[childAt + 1]!;
  const n = Number(process.argv[childAt + 2]);
  const out = what === 'mem' ? memChild(n) : what === 'cpu' ? cpuChild(n) : what === 'encode' ? encodeChild(n) : null;
  if (out === null) throw new Error(`unknown child ${what}`);
  process.stdout.write(JSON.stringify(out));
} else {
  await main();
}
