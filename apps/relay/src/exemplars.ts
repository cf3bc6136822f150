// Exemplars through the relay: the latest one per output series, within the spec's limits (README "Exemplars").
// The rules every stage shares: what is over the limit (dropped and counted), and which of two exemplars is newer.
import type { Exemplar } from '@prom-relay/codec';

/**
 * OpenMetrics (and Prometheus, `exemplar.ExemplarMaxLabelSetLength`): the label names and values of an exemplar
 * together at most 128 UTF-8 characters (code points). Prometheus's exemplar storage refuses a longer one after
 * answering the write, so the relay never sends one: it drops it where it enters, counted.
 */
export const EXEMPLAR_MAX_LABEL_CHARS = 128;

/** Code points of a string (a surrogate pair is one character). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

/** Characters of the exemplar's label names and values together. */
export function exemplarLabelChars(e: Exemplar): number {
  let n = 0;
  for (const name in e.labels) n += codePoints(name) + codePoints(e.labels[name]!);
  return n;
}

/**
 * Prometheus's Remote Write receiver refuses an exemplar timestamped more than this ahead of its clock (`maxAheadTime`,
 * 10 minutes in 3.16). The relay drops one where it enters: delivered, it could not be stored, and an owner would hold
 * back every later exemplar of its series until then (it never sends one older than the last it sent).
 */
export const EXEMPLAR_MAX_AHEAD_MS = 10 * 60_000;

/**
 * An exemplar a decoder read but cannot deliver (a label name outside the Prometheus rules, a name twice): kept in its
 * place so that it is dropped and counted where the message is applied, as one over the limits is; the series' sample
 * goes on without it.
 */
export const UNDELIVERABLE_EXEMPLAR: Exemplar = Object.freeze({ labels: Object.freeze({}), value: 0 }) as Exemplar;

/** Whether the exemplar is within the limits the relay can deliver it under (label set size, timestamp ahead of `nowMs`). */
export function exemplarWithinLimits(e: Exemplar, nowMs: number): boolean {
  if (e === UNDELIVERABLE_EXEMPLAR) return false;
  if (e.timestamp !== undefined && e.timestamp > nowMs + EXEMPLAR_MAX_AHEAD_MS) return false;
  return exemplarLabelChars(e) <= EXEMPLAR_MAX_LABEL_CHARS;
}

/**
 * Whether `candidate` replaces `current` as the latest: the later timestamp wins (an equal one keeps `current`); an
 * exemplar without a timestamp (or against one without) is newer when it came later.
 */
export function isNewerExemplar(candidate: Exemplar, current: Exemplar | undefined): boolean {
  if (current === undefined) return true;
  const a = candidate.timestamp;
  const b = current.timestamp;
  if (a === undefined || a === 0 || b === undefined || b === 0) return true;
  return a > b;
}

/**
 * The latest exemplar of a series within the limits (by timestamp; the last one when none has one), and how many
 * were over the limits. `undefined` when none is left.
 */
export function latestExemplar(exemplars: readonly Exemplar[] | undefined, nowMs = Date.now()): { latest: Exemplar | undefined; overLimit: number } {
  let latest: Exemplar | undefined;
  let overLimit = 0;
  if (exemplars === undefined) return { latest, overLimit };
  for (const e of exemplars) {
    if (!exemplarWithinLimits(e, nowMs)) overLimit++;
    else if (isNewerExemplar(e, latest)) latest = e;
  }
  return { latest, overLimit };
}
