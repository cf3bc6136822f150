// A source partition's state: its aggregate and what it knows of its input families (metadata), checkpointed
// together. Checkpoints written before metadata was carried (a bare aggregate state) are read too.
import type { MetricMetadata } from '@prom-relay/codec';
import { PartitionAggregate, type AggregateOptions } from '../aggregate/index.js';
import { histogramFromState, histogramToState, type HistogramState } from '../aggregate/native-histogram.js';
import type { IngestBatch, OutputSample } from '../model.js';
import { FamilyTable } from './metadata.js';
import { labelsFromKey } from './partials.js';

const STATE_FORMAT = 'prom-relay.source';
/** Every live series is published at least this often (and on the first flush of a state), unchanged ones too. */
export const FULL_PUBLISH_EVERY_MS = 30 * 60_000;
/** Whole-job delete ends carried over failed publishes at most (each a key and a final total: ~10 MB at the bound). */
export const MAX_CARRIED_ENDS = 50_000;

/**
 * The bound on the ends a source carries over failed publishes (while the partials topic fails, every delete adds its
 * ends). Ends over it are dropped, the newest first: each one's final total is lost (the owner keeps the series' last
 * total until its TTL); `onDropped` counts and logs them (the relay's /readyz fails meanwhile: the publish failed).
 */
export interface CarriedEndsLimit {
  max: number;
  onDropped?: (dropped: number, max: number) => void;
}

export class SourceState {
  /** when every live series was last collected for publishing (undefined: never, or the publish failed) */
  private lastFull: number | undefined;
  /** the ends (stale samples) of the last collect: its outputs are gone from the aggregate, so a failed publish of them
   *  is made good by saying them again (publishAll), not by saying every live series */
  private lastEnds: OutputSample[] = [];
  private carried: OutputSample[] = [];

  constructor(
    readonly aggregate: PartitionAggregate,
    private readonly families: FamilyTable,
    /** families not fed this long are forgotten */
    private readonly familyTtlMs: number,
    private readonly limit: CarriedEndsLimit = { max: MAX_CARRIED_ENDS },
  ) {}

  static create(opts: AggregateOptions, familyTtlMs: number, limit?: CarriedEndsLimit): SourceState {
    return new SourceState(new PartitionAggregate(opts), new FamilyTable(), familyTtlMs, limit);
  }

  static fromState(state: unknown, opts: AggregateOptions, familyTtlMs: number, limit?: CarriedEndsLimit): SourceState {
    const s = state as { format?: unknown; aggregate?: unknown; families?: unknown; ends?: unknown };
    if (s !== null && typeof s === 'object' && s.format === STATE_FORMAT) {
      const restored = new SourceState(PartitionAggregate.fromState(s.aggregate, opts), FamilyTable.fromState(s.families), familyTtlMs, limit);
      if (s.ends !== undefined) restored.carried = restored.bounded(endsFromState(s.ends));
      return restored;
    }
    return new SourceState(PartitionAggregate.fromState(state, opts), new FamilyTable(), familyTtlMs, limit);
  }

  get seriesCount(): number {
    return this.aggregate.seriesCount;
  }

  get producerCount(): number {
    return this.aggregate.producerCount;
  }

  apply(batch: IngestBatch, now: number): ReturnType<PartitionAggregate['apply']> {
    const result = this.aggregate.apply(batch, now);
    if (result.accepted > 0) this.families.observe(batch, now);
    return result;
  }

  /**
   * What to publish: every live series on the first flush of this state, every `FULL_PUBLISH_EVERY_MS` and after a
   * failed publish (`publishAll`); otherwise the outputs fed since the last flush (a gauge-mode one also when a
   * contribution left) and every end. An owner keeps what it was told, so an unchanged series need not be told again
   * each flush (at 100k series that was 100k partials a flush).
   */
  collect(now: number): OutputSample[] {
    this.families.expire(now, this.familyTtlMs);
    const full = this.lastFull === undefined || now - this.lastFull >= FULL_PUBLISH_EVERY_MS;
    if (full) this.lastFull = now;
    const out = this.aggregate.collect(now, { onlyFed: !full });
    const ends: OutputSample[] = [];
    for (const s of out) if (s.stale === true) ends.push(s);
    this.lastEnds = ends;
    if (this.carried.length === 0) return out;
    // Ends a failed publish lost go first: an owner ends the series before a new value of the same name.
    const carried = this.carried;
    this.carried = [];
    this.lastEnds = carried.concat(ends);
    return carried.concat(out);
  }

  /** The last publish failed: the next collect gives every live series again, and the ends the failed one carried. */
  publishAll(): void {
    this.lastFull = undefined;
    this.carried = this.bounded(this.lastEnds);
    this.lastEnds = [];
  }

  /** Ends to carry within the bound (see CarriedEndsLimit): the oldest go on, the rest are dropped and counted. */
  private bounded(ends: OutputSample[]): OutputSample[] {
    const max = this.limit.max;
    if (ends.length <= max) return ends;
    this.limit.onDropped?.(ends.length - max, max);
    return ends.slice(0, max);
  }

  /** Family and type of an output series (see FamilyTable.metadataOf). */
  metadataOf(sample: OutputSample): MetricMetadata {
    return this.families.metadataOf(sample);
  }

  /**
   * The aggregate, the families and the whole-job delete ends of the last collect (with what a failed publish carried):
   * a checkpoint is taken with the state of a collect, before its publish is known to have reached the owners, and
   * those ends are gone from the aggregate. A source restored from it says them again (the owner applies a named end
   * once), so that an end whose publish failed is not lost with the relay, nor the final total it carries. Ends
   * without a final total (expiry, gauges) are not kept: losing one loses no total.
   */
  toState(): unknown {
    const ends = endsToState(this.carried.length === 0 ? this.lastEnds : this.carried.concat(this.lastEnds));
    return { format: STATE_FORMAT, version: 1, aggregate: this.aggregate.toState(), families: this.families.toState(), ...(ends.length > 0 ? { ends } : {}) };
  }
}

/**
 * A kept end: key (its labels come back from it), mode, final total (a number or a native histogram) and the delete
 * record's offset or null. (States written before: the labels first, which are skipped.)
 */
type EndState = [string, 'total' | 'native', number | HistogramState, number | null];

function endsToState(ends: OutputSample[]): EndState[] {
  const out: EndState[] = [];
  for (const e of ends) {
    const f = e.final;
    if (f === undefined || e.key === undefined || (e.combine !== 'total' && e.combine !== 'native')) continue;
    if (e.combine === 'native' && f.histogram === undefined) continue;
    out.push([e.key, e.combine, e.combine === 'native' ? histogramToState(f.histogram!) : f.value, f.offset ?? null]);
  }
  return out;
}

/**
 * The ends a source restored from its checkpoint says again (see SourceState.toState), by object: they, and a restart
 * only they name, are said in fields older owners do not read (PartialSeries.again).
 */
const saidAgain = new WeakSet<OutputSample>();

/** An end a source restored from its checkpoint says again (PartialSeries.again). */
export function isSaidAgain(s: OutputSample): boolean {
  return saidAgain.has(s);
}

function endsFromState(state: unknown): OutputSample[] {
  if (!Array.isArray(state)) throw new Error('source state: ends is not an array');
  return (state as unknown[][]).map((row, i) => {
    if (!Array.isArray(row)) throw new Error(`source state: end ${i} is malformed`);
    const [key, combine, final, offset] = (typeof row[0] === 'string' ? row : row.slice(1)) as EndState;
    if (typeof key !== 'string' || (combine !== 'total' && combine !== 'native')) throw new Error(`source state: end ${i} is malformed`);
    const labels = labelsFromKey(key);
    const f: NonNullable<OutputSample['final']> =
      combine === 'native' ? (() => { const histogram = histogramFromState(final); return { value: histogram.count, histogram }; })() : { value: Number(final) };
    if (typeof offset === 'number') f.offset = offset;
    const end: OutputSample = { labels, value: NaN, stale: true, combine, key, final: f };
    saidAgain.add(end);
    return end;
  });
}
