// The wire form of what an owner partition writes: OutputSamples made into Remote Write TimeSeries, a part at a time.
import type { Exemplar, Histogram, Labels, Sample, TimeSeries } from '@prom-relay/codec';
import type { OutputSample } from '../model.js';
import { toWire } from '../aggregate/native-histogram.js';

const STALE: Sample = { value: Number.NaN, timestamp: 0, stale: true };

/*
 * A flush's samples and series are made with `new` and Array.of, not as object and array literals: V8 pretenures a
 * literal's allocation site once most of what it made outlived a scavenge (as in the first flushes, while the young
 * generation is still small), and from then on allocates every flush's series straight in the old generation, where
 * they are garbage once sent (19 MB per flush of 100k series, bench/diagnosis/flush-path.ts); objects of a class
 * constructor are not pretenured so.
 */
class WireSample implements Sample {
  constructor(
    readonly value: number,
    readonly timestamp: number,
    readonly startTimestamp: number | undefined,
  ) {}
}

class WireSeries implements TimeSeries {
  exemplars: Exemplar[] | undefined = undefined;
  constructor(
    readonly labels: Labels,
    readonly samples: Sample[],
    readonly histograms: Histogram[] | undefined,
  ) {}
}

/** The wire form of samples[from, to): one TimeSeries each. */
export function toSeries(samples: readonly OutputSample[], timestamp: number, from = 0, to = samples.length): TimeSeries[] {
  const out: TimeSeries[] = new Array(to - from);
  for (let i = from; i < to; i++) {
    const s = samples[i]!;
    // A counter's start timestamp (RW 2.0; 1.0 has no field for it) lies before the sample's, as the spec requires.
    const sample: Sample = s.stale
      ? { ...STALE, timestamp }
      : new WireSample(s.value, timestamp, s.start !== undefined && s.start > 0 && s.start < timestamp ? s.start : undefined);
    // A native histogram's running total goes out as a histogram sample (its staleness marker as a float one, which
    // Prometheus turns into a stale histogram).
    const series =
      s.histogram !== undefined && !s.stale
        ? new WireSeries(s.labels, Array.of(), Array.of(toWire(s.histogram, timestamp, s.start)))
        : new WireSeries(s.labels, Array.of(sample), undefined);
    // The series' latest exemplar, new since the last flush (RW 1.0 and 2.0 both carry it; the owner stamped one without a timestamp).
    if (s.exemplar !== undefined && !s.stale) series.exemplars = [s.exemplar];
    out[i - from] = series;
  }
  return out;
}
