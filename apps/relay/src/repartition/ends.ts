// An owner's rules for the ends and restarts its sources say (see PartialSeries.end, .final and .restart), used by
// SeriesCombiner.apply. A source says an output series' end (its job deleted, or expired) and a restart (the series
// ended and began again between two publishes) once it happened, and may say them again (a replay after a crash, a
// late writer, a publish cut into parts, an end carried to the next publish when one failed). These rules decide which
// of those words are news and what each one changes: a counter's ended run keeps what it counted, a final total newer
// than the source's last value is written once, and nothing said again is applied twice.
import type { Combined } from './combined.js';
import { NO_END, type SourceEntry } from './combined-entry.js';
import type { PartialSeries } from './partials.js';

/** What an owner heard of one source partition (see hear); -1: nothing. */
export interface SourceHeard {
  last: number;
  before: number;
  /** when a publish at or above `last` was last heard (relative, as every time here): `ttlMs` later, forgotten */
  at: number;
}

/**
 * What this owner heard of source `src` before the message at `offset` (part `part` of its publish), and that it
 * heard it: `last`, the newest publish offset before this message; `before`, the newest before this message's publish
 * (the same, but for the later parts of one publish cut at the size limit). Whatever the source says below `last` it
 * said then (a replay after a crash, a late writer), and every end it named below `before` was said by that publish
 * or an earlier one (a source says its ends at its first publish after their delete, or, failing, at the next).
 * Forgotten `ttlMs` after the source last published at or above `last` (see SeriesCombiner.collect): a source whose
 * offsets start lower again (its topic recreated) is heard anew then, not dropped for ever. A publish far below `last`
 * is told to `opts.onBackwardJump` (see CombineOptions).
 */
export function hear(
  sources: Map<string, SourceHeard>,
  src: string,
  offset: number,
  part: number,
  t: number,
  opts: { onBackwardJump?: (source: string, offset: number, last: number) => void },
): SourceHeard {
  let heard = sources.get(src);
  if (heard === undefined) sources.set(src, (heard = { last: -1, before: -1, at: t }));
  const seen = { last: heard.last, before: part === 0 ? heard.last : heard.before, at: heard.at };
  heard.before = seen.before;
  if (offset >= heard.last) {
    heard.last = offset;
    heard.at = t;
  } else if (part === 0 && offset < heard.last / 2) opts.onBackwardJump?.(src, offset, heard.last);
  return seen;
}

/** A named end below the offset of its source's previous publish: that publish (or an earlier one) said it. */
export function saidBefore(p: PartialSeries, heard: SourceHeard): boolean {
  return p.end !== undefined && p.end < heard.before;
}

/** A final total of a series this owner does not hold: a run it never heard of, which counted something. */
export function isNews(p: PartialSeries): boolean {
  return p.final !== undefined && (p.combine === 'total' || (p.combine === 'native' && p.final.histogram !== undefined)) && p.final.value > 0;
}

/**
 * A total's or native histogram's end. A named one (PartialSeries.end) is applied once: named after the last end or
 * restart its entry applied, the entry's run ends (or, the entry ended already, a run the owner never heard of ended:
 * its final total is kept); otherwise it is a repeat (false: counted outdated). An end without a name is applied as by
 * owners older than names.
 */
export function applyEnd(c: Combined, e: SourceEntry | undefined, p: PartialSeries, src: string, offset: number, t: number, heard: SourceHeard): boolean {
  const name = p.end;
  if (e === undefined) {
    // A run of this source never said before (pushed and deleted between two publishes) counts as it ends.
    if (!isNews(p)) return true;
    e = c.add(src, offset, t);
  } else if (name !== undefined && (saidBefore(p, heard) || name <= Math.max(e.endedAt, e.restartedAt))) {
    // Said before (see hear), or applied here: the entry ended by it, or the restart after it.
    e.offset = offset;
    e.heard = t;
    return false;
  }
  if (e.retired) {
    // A named end after the one the entry ended with: a run that began after it and ended again before its source
    // said it (a job pushed and deleted twice within one flush). Its final total stays in the output.
    if (name !== undefined && e.endedAt !== NO_END && isNews(p)) {
      c.keepFinal(p.final!.value, p.final!.histogram);
      c.unwritten = true;
    }
  } else {
    takeFinal(c, e, p);
    // The source's series ended: what it counted stays in the output.
    if (c.mode === 'native') c.keep(e);
    else c.base += e.value;
    e.value = 0;
    e.retired = true;
  }
  // Unnamed, how the entry's run ended is unknown: a later named end is then taken for a repeat, never for news.
  e.endedAt = name ?? NO_END;
  e.offset = offset;
  e.heard = t;
  return true;
}

/**
 * An end's final total newer than what its source last said (the job pushed after the source's last publish): the
 * entry takes it before it retires, and the owner writes the series' value at its next collect even when no source
 * goes on (see Combined.unwritten), the end at the one after. Said again, an end finds its entry retired (or its value
 * no newer) and changes nothing.
 */
function takeFinal(c: Combined, e: SourceEntry, p: PartialSeries): void {
  const f = p.final;
  if (f === undefined || e.retired || !(f.value > e.value)) return;
  if (c.mode === 'native') {
    if (f.histogram === undefined) return;
    e.hist = f.histogram;
  } else if (c.mode !== 'total') return;
  e.value = f.value;
  c.unwritten = true;
}

/**
 * The end said with a restart by a source older than end names (skipped otherwise): its final total, when the restart
 * is not applied yet. Of a series never said before (a run pushed and deleted, and the next one pushed, between two
 * publishes), the series is made for it (`create`, with `held` the series the owner holds under the key): the restart
 * then writes the deleted run's total before the new run's.
 */
export function finalBeforeRestart(p: PartialSeries, src: string, offset: number, now: number, held: Combined | undefined, create: () => Combined): void {
  if (p.final === undefined) return;
  let c = held;
  if (c === undefined) {
    if (!isNews(p)) return;
    c = create();
  }
  if (c.mode !== p.combine) return;
  let e = c.find(src);
  if (e === undefined) {
    if (!isNews(p)) return;
    e = c.add(src, offset, now);
  }
  if (offset < e.offset || e.restartedAt === p.restart) return;
  takeFinal(c, e, p);
}

/**
 * A restart (see PartialSeries.restart) not applied yet; said again, it is the plain value it then is. So is one
 * named below its source's previous publish (see hear; of sources that say parts, `part` defined): that publish, or an
 * earlier one, said its end, and this owner applied it (and the run after it, if it said that too).
 */
export function isRestart(p: PartialSeries, c: Combined, e: SourceEntry | undefined, part: number | undefined, heard: SourceHeard): boolean {
  return (
    p.restart !== undefined &&
    !p.stale &&
    (c.mode === 'total' || c.mode === 'native') &&
    (e === undefined || (e.restartedAt !== p.restart && !(part !== undefined && p.restart < heard.before)))
  );
}

/**
 * A restart of source entry `e` (undefined: none) with no other source going on: the series ended here, and starts
 * again from zero (see restartedSeries), as when the end and the new run reach the owner in two flushes (the collect
 * between them drops the series).
 */
export function restartsAlone(c: Combined, e: SourceEntry | undefined): boolean {
  return c.size > 0 && c.othersLive(e) === 0 && (c.final === null || c.final.own);
}

/**
 * `fresh`, the series that replaces `c` when a restart of entry `e` restarts it alone (see restartsAlone). The other
 * sources' ended entries stay, with their offsets: an older word of theirs (a late writer) is still outdated. (A series
 * made by a restart since the last collect, which has written nothing of its own yet, takes a second restart in itself,
 * as beside a source that goes on: the ended run's total stays in what the new run adds to.) (Its start follows the
 * ended series', also when both were made at one time: two restarts applied within one millisecond, as when an owner
 * replays the partials topic, are two counters to a receiver, not one.)
 */
export function restartedSeries(c: Combined, e: SourceEntry | undefined, fresh: Combined): Combined {
  // The ended series' last value, not written yet: written first (a counter reset, then the new run).
  if (c.final !== null || c.unwritten) fresh.final = c.snapshot();
  for (let i = 0, size = c.size; i < size; i++) {
    const other = c.entry(i);
    if (other === e) continue;
    const kept = fresh.add(other.src, other.offset, other.heard);
    kept.retired = true;
    kept.restartedAt = other.restartedAt;
    kept.endedAt = other.endedAt;
  }
  return fresh;
}

/**
 * Restart `p` applied to source `src`'s entry `e` of `c` (undefined: a new entry): what the entry held stays in the
 * output (another source goes on); the new run counts from zero.
 */
export function applyRestart(c: Combined, e: SourceEntry | undefined, p: PartialSeries, src: string, offset: number, t: number): void {
  const entry = e ?? c.add(src, offset, t);
  if (c.mode === 'native') {
    if (!entry.retired) c.keep(entry);
    entry.hist = p.histogram!;
    entry.value = p.histogram!.count;
  } else {
    if (!entry.retired) c.base += entry.value;
    entry.value = p.value;
  }
  entry.retired = false;
  entry.offset = offset;
  entry.heard = t;
  entry.restartedAt = p.restart!;
  c.unwritten = true;
}
