// The owner's side of the repartition stage: one partition of the partials topic, holding the latest partial of
// every source partition for each output series it owns, combining them into the one value that is flushed. What its
// sources' ends and restarts change is decided in ends.ts, the exemplars it holds in owner-exemplars.ts.
import type { Labels } from '@prom-relay/codec';
import type { MetricMetadata } from '@prom-relay/codec';
import type { CombineMode, OutputSample } from '../model.js';
import type { NativeHistogram } from '../aggregate/native-histogram.js';
import { COMBINE_STATE_FORMAT, readCombineState, writeCombineState, type CombineState } from './combiner-state.js';
import type { Combined } from './combined.js';
import { NO_END, type SourceEntry } from './combined-entry.js';
import { CombinedStore } from './combined-store.js';
import { idOf, matchesId } from './combined-table.js';
import { applyEnd, applyRestart, finalBeforeRestart, hear, isNews, isRestart, restartedSeries, restartsAlone, saidBefore, type SourceHeard } from './ends.js';
import { OwnerFamilies } from './metadata.js';
import { holdExemplar, takeExemplar, type HeldExemplar } from './owner-exemplars.js';
import { labelsFromKey, type PartialBatch } from './partials.js';

export interface CombineOptions {
  /** an output series not fed by any source this long ends (safety net: sources send every live series each flush) */
  ttlMs: number;
  /**
   * The labels of an output series this process already holds (a source partition's aggregate here), by the series'
   * id: shared instead of parsed again, which halves what an owner costs per series in one relay.
   */
  shared?: (id: string) => { labels: Labels } | undefined;
  /**
   * A source's publish at an offset far below its last one (under half of it: the input topic recreated, its source
   * checkpoints reset; a crash replay goes back a checkpoint interval): what it says that this owner does not hold is
   * taken for said before (outdated) until the source publishes at or above `last` again or was silent for `ttlMs`.
   * The relay logs it (rate-limited).
   */
  onBackwardJump?: (source: string, offset: number, last: number) => void;
}

export interface CombineResult {
  /** partials applied */
  applied: number;
  /** partials older than what the source already said (replays, a writer that lost the partition) */
  outdated: number;
  /** partials whose combine mode differs from the series' (one name fed as counter and as gauge) */
  conflicts: number;
  /** total partials that went down at a newer offset: counted as a reset of that source */
  resets: number;
}

/**
 * Combines the partials of one partials-topic partition. Deterministic in the order of its input (a restore from
 * checkpoint plus the replay of the topic rebuilds exactly the same state), and idempotent for a repeated partial.
 */
export class SeriesCombiner {
  /** by id (Combined.key): rows of columns, holding no key string */
  private readonly series = new CombinedStore();
  private families = new OwnerFamilies();
  /** Times are kept relative to this, so they stay small integers (no boxed doubles per series). */
  private readonly epoch = Date.now();
  /** one string per source partition name (each partials message brings its own copy) */
  private readonly sourceNames = new Map<string, string>();
  /** by series id: only series that had an exemplar pay for one */
  private readonly exemplars = new Map<string, HeldExemplar>();
  /** see multiSourceCount */
  private multiSource = 0;
  /** by source partition name: what this owner heard of it (see hear) */
  private readonly heard = new Map<string, SourceHeard>();

  constructor(private readonly opts: CombineOptions) {}

  get seriesCount(): number {
    return this.series.size;
  }

  /**
   * Output series fed by more than one source partition, as of the last `collect` (which walks every series anyway: a
   * metrics scrape must not, it came to 0.2 s of CPU per flush cycle at 100k series with /metrics read every second).
   */
  get multiSourceCount(): number {
    return this.multiSource;
  }

  apply(batch: PartialBatch, now: number): CombineResult {
    const result: CombineResult = { applied: 0, outdated: 0, conflicts: 0, resets: 0 };
    let src = this.sourceNames.get(batch.source);
    if (src === undefined) this.sourceNames.set(batch.source, (src = batch.source));
    const offset = batch.offset;
    if (batch.metadata !== undefined) this.families.learn(batch.metadata, now);
    const t = now - this.epoch;
    const heard = hear(this.heard, src, offset, batch.part ?? 0, t, this.opts);
    for (const p of batch.series) {
      // An end that the restart after it says too (see PartialSeries.restart), from a source older than end names: its
      // final total is the ended run's, which the restart then keeps (beside other sources) or writes first (alone). A
      // named one is applied as any end (the restart after it then finds the entry ended).
      if (p.stale && p.restart !== undefined && p.end === undefined) {
        finalBeforeRestart(p, src, offset, t, this.series.get(p.key), () => {
          const made = this.create(p.key, p.key, p.combine, t, t - 1);
          this.series.set(p.key, made);
          return made;
        });
        continue;
      }
      // Modes a receiver cannot tell apart by name share an id: a second one is a conflict, not a second series.
      const id = idOf(p.combine, p.key);
      let c = this.series.get(id);
      if (c === undefined) {
        // An end with a final total of a series never said before (a run pushed and deleted between two publishes) is
        // its only word: the series is made for it, writes the total once and ends (see applyEnd); other ends are no news,
        // nor is an end or a value this source said before (see hear): the series ended here since.
        if (p.stale ? !isNews(p) || saidBefore(p, heard) : offset < heard.last) {
          if (!p.stale || isNews(p)) result.outdated++;
          continue;
        }
        // (An ended run began before its end reached us: a restart's new series, made at `t`, starts after it.)
        c = this.create(id, p.key, p.combine, t, p.stale ? t - 1 : t);
        this.series.set(id, c);
      }
      if (c.mode !== p.combine && !p.stale && c.size === 0 && c.mode !== 'total' && c.mode !== 'native') {
        // Every source of a gauge-mode series left (an untyped series ended to start again typed, see retype.ts): the
        // name is free for the new kind.
        c = carryExemplar(c, this.create(id, p.key, p.combine, t, t));
        this.series.set(id, c);
      }
      if (c.mode !== p.combine || (p.combine === 'native' && !p.stale && p.histogram === undefined)) {
        result.conflicts++;
        continue;
      }
      let e = c.find(src);
      if (e !== undefined ? offset < e.offset : p.stale ? isNews(p) && saidBefore(p, heard) : offset < heard.last) {
        result.outdated++;
        continue;
      }
      if (p.stale && (c.mode === 'total' || c.mode === 'native')) {
        c.seen = t;
        if (applyEnd(c, e, p, src, offset, t, heard)) result.applied++;
        else result.outdated++;
        continue;
      }
      result.applied++;
      // A restart (see isRestart) restarts the series when no other source goes on (see restartsAlone): the ended
      // series is replaced by a fresh one (see restartedSeries).
      const restart = isRestart(p, c, e, batch.part, heard);
      if (restart && restartsAlone(c, e)) {
        c = restartedSeries(c, e, carryExemplar(c, this.create(id, p.key, p.combine, t, Math.max(t, c.start + 1))));
        this.series.set(id, c);
        e = undefined;
      }
      c.seen = t;
      if (p.exemplar !== undefined && !p.stale && holdExemplar(this.exemplars, id, p.exemplar)) c.freshExemplar = true;
      if (restart) {
        applyRestart(c, e, p, src, offset, t);
        continue;
      }
      // A restart taken for a plain value (see isRestart) is still applied as far as its name goes: said again at this
      // offset, it is no restart either.
      if (p.restart !== undefined && e !== undefined && (c.mode === 'total' || c.mode === 'native')) e.restartedAt = Math.max(e.restartedAt, p.restart);
      if (c.mode === 'native') {
        result.resets += this.applyNative(c, e, src, p.histogram!, offset, t);
        continue;
      }
      if (c.mode === 'total') {
        if (e === undefined) {
          c.add(src, offset, t).value = p.value;
          if (p.value !== 0) c.unwritten = true;
        } else if (e.retired) {
          // Started again after it ended: only a newer state counts from zero; the same offset is the ended one.
          if (offset > e.offset) {
            e.retired = false;
            e.value = p.value;
            if (p.value !== 0) c.unwritten = true;
          }
          e.offset = offset;
          e.heard = t;
        } else {
          if (p.value < e.value) {
            // The source's running total restarted (its series expired without the word reaching us): keep what it had.
            c.base += e.value;
            result.resets++;
          }
          if (p.value !== e.value) c.unwritten = true;
          e.value = p.value;
          e.offset = offset;
          e.heard = t;
        }
        continue;
      }
      if (p.stale) {
        if (e !== undefined) c.remove(e);
        continue;
      }
      const entry: SourceEntry = e ?? c.add(src, offset, t);
      entry.value = p.combine === 'avg' ? (p.sum ?? p.value) : p.value;
      entry.count = p.count ?? 0;
      entry.at = p.at ?? 0;
      entry.offset = offset;
      entry.heard = t;
    }
    return result;
  }

  /** `total`'s rules for a native histogram's value: a lower count is a reset (an end: applyEnd). */
  private applyNative(c: Combined, e: SourceEntry | undefined, src: string, h: NativeHistogram, offset: number, now: number): number {
    if (e === undefined) {
      if (h.count !== 0) c.unwritten = true;
      const added = c.add(src, offset, now);
      added.value = h.count;
      added.hist = h;
      return 0;
    }
    let reset = 0;
    if (e.retired) {
      if (offset > e.offset) {
        e.retired = false;
        e.value = h.count;
        e.hist = h;
        if (h.count !== 0) c.unwritten = true;
      }
    } else {
      if (h.count !== e.value) c.unwritten = true;
      if (h.count < e.value) {
        c.keep(e);
        reset = 1;
      }
      e.value = h.count;
      e.hist = h;
    }
    e.offset = offset;
    e.heard = now;
    return reset;
  }

  /**
   * Every owned output series, one sample each. A series whose every source ended (or that no source fed for
   * `ttlMs`) comes out once with `stale: true` and is dropped.
   */
  collect(nowMs: number): OutputSample[] {
    const out: OutputSample[] = [];
    const ttl = this.opts.ttlMs;
    const now = nowMs - this.epoch;
    let multiSource = 0;
    // One cursor moved along the rows (a series is not held past its step).
    const c = this.series.cursor();
    const table = this.series.table;
    for (let row = 0; row < table.end; row++) {
      if (!table.inUse(row)) continue;
      c.row = row;
      const mode = c.mode;
      for (let i = c.size - 1; i >= 0; i--) {
        const e = c.entry(i);
        if (now - e.heard < ttl) continue;
        // A source silent this long is gone (its partition's state was dropped): a counter keeps what it counted.
        if (mode === 'total' || mode === 'native') {
          if (!e.retired) {
            if (mode === 'total') c.base += e.value;
            else c.keep(e);
          }
          e.value = 0;
          e.retired = true;
          e.endedAt = NO_END;
        } else c.remove(e);
      }
      const live = c.live();
      const final = c.final;
      if (final !== null) {
        c.final = null;
        // A final total not written yet (see FinalSample): its own, when no source goes on (the end comes next time);
        // the replaced series', before the new one's value (which comes next time).
        if (!final.own || live === 0) {
          const f = final.own ? c.snapshot() : final;
          if (final.own) c.unwritten = false;
          const start = f.start + this.epoch;
          out.push(mode === 'native' ? { labels: c.labels, value: f.value, start, histogram: f.hist! } : { labels: c.labels, value: f.value, start });
          if (live > 1) multiSource++;
          continue;
        }
      }
      if (live === 0 && c.unwritten) {
        // Every source ended since the series' last value was written (see Combined.unwritten): the value first, the
        // staleness marker at the next collect.
        c.unwritten = false;
        const f = c.snapshot();
        const start = c.start + this.epoch;
        const sample: OutputSample = mode === 'native' ? { labels: c.labels, value: f.value, start, histogram: f.hist! } : { labels: c.labels, value: f.value, start };
        const exemplar = c.freshExemplar ? this.takeExemplar(c, nowMs) : undefined;
        if (exemplar !== undefined) sample.exemplar = exemplar;
        out.push(sample);
        continue;
      }
      if (live === 0 || now - c.seen >= ttl) {
        out.push({ labels: c.labels, value: NaN, stale: true });
        const id = c.key;
        this.series.delete(id);
        if (this.exemplars.size > 0) this.exemplars.delete(id);
        continue;
      }
      if (live > 1) multiSource++;
      const start = c.start + this.epoch;
      let sample: OutputSample;
      if (mode === 'native') {
        const histogram = c.histogram();
        sample = { labels: c.labels, value: histogram.count, start, histogram };
      } else sample = mode === 'total' ? { labels: c.labels, value: c.combinedValue(), start } : { labels: c.labels, value: c.combinedValue() };
      c.unwritten = false;
      if (c.freshExemplar) {
        const exemplar = this.takeExemplar(c, nowMs);
        if (exemplar !== undefined) sample.exemplar = exemplar;
      }
      out.push(sample);
    }
    this.multiSource = multiSource;
    // (No series is held past here: the rows the collect freed can move.)
    this.series.table.compact();
    // A source not heard at or above its last publish offset for the TTL: its entries expired above; its offsets are
    // forgotten, so that a source whose offsets start lower again is heard (see hear).
    for (const [src, h] of this.heard) if (now - h.at >= ttl) this.heard.delete(src);
    return out;
  }

  /** The exemplar `c` holds, not sent yet (its id built only here: see Combined.freshExemplar). */
  private takeExemplar(c: Combined, nowMs: number): ReturnType<typeof takeExemplar> {
    c.freshExemplar = false;
    return takeExemplar(this.exemplars, c.key, nowMs);
  }

  /** Metadata of the families this owner writes (type, help, unit), for the flush. */
  metadata(now: number): MetricMetadata[] {
    return this.families.current(now, this.opts.ttlMs);
  }

  /**
   * A new combined series of id `id` (`key`, the labels' key, after a mode prefix for some modes): its labels shared
   * with this process's aggregate where it has them. A key that is not the one its labels make (only a foreign or
   * corrupt partial: every relay writes `labelsKey`) is refused: the series could not be found by it again.
   */
  private create(id: string, key: string, mode: CombineMode, seen: number, start: number, labels?: Labels): Combined {
    const own = this.opts.shared?.(id)?.labels ?? labels ?? labelsFromKey(key);
    if (!matchesId(own, mode, id)) throw new Error(`malformed series key: not in canonical form (${JSON.stringify(key.slice(0, 200))})`);
    return this.series.create(own, mode, seen, start);
  }

  /** Columns of every series (combiner-state.ts), the families' metadata and when each series last sent an exemplar. */
  toState(): CombineState {
    const state: CombineState = { format: COMBINE_STATE_FORMAT, version: 3, ...writeCombineState(this.series, this.epoch), families: this.families.toState() };
    const sent: Array<[string, number]> = [];
    for (const [id, held] of this.exemplars) if (held.sent > 0) sent.push([id, held.sent]);
    if (sent.length > 0) state.exemplarsSent = sent;
    if (this.heard.size > 0) state.heard = [...this.heard].map(([src, h]) => [src, h.last, h.before, h.at + this.epoch]);
    return state;
  }

  /** A combiner that gives exactly the same future results as the one `state` (version 1, 2 or 3) came from. */
  static fromState(state: unknown, opts: CombineOptions): SeriesCombiner {
    const combiner = new SeriesCombiner(opts);
    const restored = readCombineState(state, {
      create: (id, key, mode, seen, start, labels) => combiner.create(id, key, mode, seen, start, labels),
      source: (name) => {
        let src = combiner.sourceNames.get(name);
        if (src === undefined) combiner.sourceNames.set(name, (src = name));
        return src;
      },
      epoch: combiner.epoch,
    });
    for (const c of restored) combiner.series.set(c.key, c);
    const s = state as CombineState;
    combiner.families = OwnerFamilies.fromState(s.families);
    if (Array.isArray(s.heard)) {
      for (const [name, last, before, at] of s.heard) {
        if (typeof name === 'string' && typeof last === 'number' && typeof before === 'number') {
          let src = combiner.sourceNames.get(name);
          if (src === undefined) combiner.sourceNames.set(name, (src = name));
          // (States written before `at`: heard as of the restore.)
          combiner.heard.set(src, { last, before, at: typeof at === 'number' ? at - combiner.epoch : 0 });
        }
      }
    }
    // Only when each exemplar was sent: an older one must not follow a restart (the exemplars themselves are gone).
    if (Array.isArray(s.exemplarsSent)) {
      for (const [id, sent] of s.exemplarsSent) {
        if (combiner.series.get(id) !== undefined && typeof sent === 'number') combiner.exemplars.set(id, { exemplar: null, fresh: false, sent });
      }
    }
    return combiner;
  }
}

/** `next` (a series that replaces `c` under its id) with `c`'s exemplar not sent yet, which the id still holds. */
function carryExemplar(c: Combined, next: Combined): Combined {
  if (c.freshExemplar) next.freshExemplar = true;
  return next;
}
