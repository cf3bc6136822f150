// Metric metadata (type, help, unit) through the pipeline: a source partition learns each input family's type (and
// help/unit where the input carries them), names the family and type of each output series it publishes — rule
// outputs typed by what they are — and the owner sends them with its flush (RW 1.0 `metadata`, RW 2.0 per series).
import type { MetricMetadata, MetricType } from '@prom-relay/codec';
import type { IngestBatch, InputMetricType, OutputSample } from '../model.js';

const SUFFIXES = ['_bucket', '_sum', '_count'] as const;
/** Families remembered per partition; past it the oldest are forgotten (types then come from the output's mode). */
const MAX_FAMILIES = 50_000;

function metricType(t: InputMetricType): MetricType {
  return t === 'untyped' ? 'unknown' : t;
}

interface Known {
  meta: MetricMetadata;
  seen: number;
}

/** What one source partition knows of its input families. */
export class FamilyTable {
  private readonly families = new Map<string, Known>();

  /** Learns the families of a push (one map write per family, not per point). */
  observe(batch: IngestBatch, now: number): void {
    let last = '';
    for (const p of batch.points) {
      if (p.family === last) continue;
      last = p.family;
      this.learn({ type: metricType(p.type), metricFamilyName: p.family }, now);
    }
    for (const m of batch.metadata ?? []) this.learn(m, now);
  }

  private learn(m: MetricMetadata, now: number): void {
    const known = this.families.get(m.metricFamilyName);
    if (known === undefined) {
      if (this.families.size >= MAX_FAMILIES) this.families.delete(this.families.keys().next().value!);
      this.families.set(m.metricFamilyName, { meta: { ...m }, seen: now });
      return;
    }
    known.seen = now;
    // A later push may bring help or unit; the type is the one the aggregate uses (the first seen).
    if (m.help && known.meta.help !== m.help) known.meta = { ...known.meta, help: m.help };
    if (m.unit && known.meta.unit !== m.unit) known.meta = { ...known.meta, unit: m.unit };
  }

  /** Forgets families not fed for `ttlMs`. */
  expire(now: number, ttlMs: number): void {
    for (const [name, k] of this.families) if (now - k.seen >= ttlMs) this.families.delete(name);
  }

  /**
   * The metadata of an output series: its input family's (a default output keeps the family's name, or is one of
   * its `_bucket`/`_sum`/`_count` series), else what a rule output is by its mode: `total` a counter (`…histogram`
   * parts a histogram), everything else a gauge (a value histogram's parts: a histogram).
   */
  metadataOf(sample: OutputSample): MetricMetadata {
    const name = sample.labels['__name__'] ?? '';
    const direct = this.families.get(name);
    if (direct !== undefined) return direct.meta;
    for (const suffix of SUFFIXES) {
      if (!name.endsWith(suffix)) continue;
      const family = name.slice(0, -suffix.length);
      const known = this.families.get(family);
      if (known !== undefined && (known.meta.type === 'histogram' || known.meta.type === 'summary')) return known.meta;
      // Rule outputs `<metric>:<infix>histogram_bucket` (merged histograms, value histograms) are histograms.
      if (family.endsWith('histogram') && family.includes(':')) return { type: 'histogram', metricFamilyName: family };
    }
    return { type: sample.combine === 'total' ? 'counter' : sample.combine === 'native' ? 'histogram' : 'gauge', metricFamilyName: name };
  }

  toState(): Array<[string, MetricType, string | null, string | null, number]> {
    return [...this.families.values()].map(({ meta, seen }) => [meta.metricFamilyName, meta.type, meta.help ?? null, meta.unit ?? null, seen]);
  }

  static fromState(rows: unknown): FamilyTable {
    const table = new FamilyTable();
    if (!Array.isArray(rows)) return table;
    for (const row of rows as Array<[string, MetricType, string | null, string | null, number]>) {
      const [family, type, help, unit, seen] = row;
      if (typeof family !== 'string' || typeof type !== 'string') continue;
      table.families.set(family, { meta: { metricFamilyName: family, type, ...(help ? { help } : {}), ...(unit ? { unit } : {}) }, seen: Number(seen) || 0 });
    }
    return table;
  }
}

/** What an owner partition knows of the families of the series it writes: the latest word of any source. */
export class OwnerFamilies {
  private readonly families = new Map<string, Known>();

  learn(meta: readonly MetricMetadata[], now: number): void {
    for (const m of meta) {
      const known = this.families.get(m.metricFamilyName);
      if (known === undefined) this.families.set(m.metricFamilyName, { meta: m, seen: now });
      else {
        known.meta = m;
        known.seen = now;
      }
    }
  }

  /** Every family heard of within `ttlMs`; older ones are forgotten. */
  current(now: number, ttlMs: number): MetricMetadata[] {
    const out: MetricMetadata[] = [];
    for (const [name, k] of this.families) {
      if (now - k.seen >= ttlMs) this.families.delete(name);
      else out.push(k.meta);
    }
    return out;
  }

  toState(): Array<[MetricMetadata, number]> {
    return [...this.families.values()].map((k) => [k.meta, k.seen]);
  }

  static fromState(rows: unknown): OwnerFamilies {
    const owner = new OwnerFamilies();
    if (!Array.isArray(rows)) return owner;
    for (const [meta, seen] of rows as Array<[MetricMetadata, number]>) {
      if (meta && typeof meta.metricFamilyName === 'string') owner.families.set(meta.metricFamilyName, { meta, seen: Number(seen) || 0 });
    }
    return owner;
  }
}
