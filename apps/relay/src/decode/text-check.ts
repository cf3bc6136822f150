// What a check-only parse of text.ts (textBodyPasses) keeps per sample instead of a point: its identity hash, where its
// value is written and whether its family may be counter-like. Scratch arrays reused by every parse (one at a time);
// the duplicate check runs on the hashes, and text-skeleton.ts takes the value positions of a body that passed.
import { growInt32 } from './text-lexing.js';
import { PROBES_PER_POINT } from './validate.js';

let hashes = new Int32Array(1024);
let valueAt = new Int32Array(1024);
let valueEnd = new Int32Array(1024);
let counterLike = new Uint8Array(1024);
/** Samples of the body that last passed (-1: the last check said no, or one is running). */
let passedSamples = -1;
/** Open-addressing table of sample indices + 1 for distinctHashes. */
let slots = new Int32Array(2048);

/** A check begins: nothing has passed until checkPassed says so. */
export function startCheck(): void {
  passedSamples = -1;
}

/** Sample `n` of the body being checked. */
export function checkedSample(n: number, hash: number, at: number, end: number, counter: boolean): void {
  if (n === hashes.length) {
    hashes = growInt32(hashes);
    valueAt = growInt32(valueAt);
    valueEnd = growInt32(valueEnd);
    const flags = new Uint8Array(hashes.length);
    flags.set(counterLike);
    counterLike = flags;
  }
  hashes[n] = hash;
  valueAt[n] = at;
  valueEnd[n] = end;
  counterLike[n] = counter ? 1 : 0;
}

/**
 * The parse of `n` samples went through: true when their identity hashes are all different (then the body passed).
 * `implied`: hashes of series the decoder adds (text-inf-buckets.ts), stored after the samples' (checkedSample n, n+1,
 * ...) and checked with them, but no sample of the skeleton: they have no value of their own.
 */
export function checkPassed(n: number, implied = 0): boolean {
  if (!distinctHashes(n + implied)) return false;
  passedSamples = n;
  return true;
}

/**
 * Where the value of each sample of the body that last passed is written (`[at, end)` in the text) and whether its
 * family may be counter-like (not a gauge nor untyped): what text-skeleton.ts keeps. Undefined after a "no".
 */
export function lastPassedValues(): { at: Int32Array; end: Int32Array; counterLike: Uint8Array } | undefined {
  const n = passedSamples;
  if (n < 0) return undefined;
  return { at: valueAt.slice(0, n), end: valueEnd.slice(0, n), counterLike: counterLike.slice(0, n) };
}

/**
 * Whether the first `n` hashes are all different (equal ones may be one series: decodeRecord compares them). Also no
 * when they crowd the table (more probes than a few per sample): decodeRecord then checks the body in linear time.
 */
function distinctHashes(n: number): boolean {
  let size = 16;
  while (size < n * 2) size <<= 1;
  if (slots.length < size) slots = new Int32Array(size);
  const table = slots;
  table.fill(0, 0, size);
  const mask = size - 1;
  let budget = PROBES_PER_POINT * n + PROBES_PER_POINT;
  for (let i = 0; i < n; i++) {
    const h = hashes[i]!;
    let slot = h & mask;
    for (;;) {
      const at = table[slot]!;
      if (at === 0) break;
      if (--budget < 0) return false;
      if (hashes[at - 1] === h) return false;
      slot = (slot + 1) & mask;
    }
    table[slot] = i + 1;
  }
  return true;
}
