// A Prometheus (agent) remote-writing to the relay sends a staleness marker for each series of a target that went
// away (and for series a target stopped exposing). The relay skipped the markers: a gone pod's gauge kept its last value,
// and a `sum` over pods kept counting it, for series_ttl (5 minutes by default) where Prometheus itself ends it at
// once. A marker now ends that producer's contribution to the series' gauge outputs; a counter's running total outlives
// it as before; a marker older than a sample applied since (a retried request) ends nothing; a series read as a total
// by a rule is not refused for its marker. Found by review of real-client runs (2026-12-02). Through the real decode
// path (decodeRecord of the message the ingest writes).
import { compress, encodeWriteRequest, type Labels, type Sample } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { byId, options } from '../aggregate/fixtures.js';
import { agentRemoteWrite } from './ingest-helpers.js';

const T0 = 1_764_000_000_000;

type Series = [labels: Labels, samples: Sample[]];
const stale = (timestamp: number): Sample => ({ value: NaN, timestamp, stale: true });

let offset = 0;
/** The message the ingest writes for one Remote Write request of job `agent` from instance node-1. */
function record(series: Series[], types: Record<string, 'gauge' | 'counter'>) {
  const body = compress(encodeWriteRequest({
    timeseries: series.map(([labels, samples]) => ({ labels: { ...labels, job: 'agent', instance: 'node-1:9100' }, samples })),
    metadata: Object.entries(types).map(([metricFamilyName, type]) => ({ metricFamilyName, type })),
  }));
  return agentRemoteWrite(Buffer.from(body), offset++, { totalRules: { rules: [{ match: 'load', inputType: 'counter' }] } });
}

const TYPES = { temperature: 'gauge', load: 'gauge', requests_total: 'counter' } as const;

describe('a staleness marker from a Remote Write sender', () => {
  it('ends the gauge of the series at once (and its share of a sum), leaves a total as it was', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 300_000, rules: [{ match: 'temperature', without: ['pod'], outputs: ['sum'], keepInput: true }] }));
    agg.apply(record([
      [{ __name__: 'temperature', pod: 'a' }, [{ value: 20, timestamp: T0 }]],
      [{ __name__: 'temperature', pod: 'b' }, [{ value: 30, timestamp: T0 }]],
      [{ __name__: 'requests_total', pod: 'a' }, [{ value: 7, timestamp: T0 }]],
    ], TYPES), T0);
    expect(byId(agg.collect(T0 + 1000))).toEqual({
      'temperature{job="agent",pod="a"}': 20,
      'temperature{job="agent",pod="b"}': 30,
      'temperature:without_pod_sum{job="agent"}': 50,
      'requests_total{job="agent",pod="a"}': 7,
    });
    // pod a went away: Prometheus sends its markers
    const result = agg.apply(record([
      [{ __name__: 'temperature', pod: 'a' }, [stale(T0 + 15_000)]],
      [{ __name__: 'requests_total', pod: 'a' }, [stale(T0 + 15_000)]],
      [{ __name__: 'temperature', pod: 'b' }, [{ value: 31, timestamp: T0 + 15_000 }]],
    ], TYPES), T0 + 15_000);
    expect(result.accepted).toBe(2);
    expect(byId(agg.collect(T0 + 16_000))).toEqual({
      'temperature{job="agent",pod="a"}': 'stale',
      'temperature{job="agent",pod="b"}': 31,
      'temperature:without_pod_sum{job="agent"}': 31,
      'requests_total{job="agent",pod="a"}': 7,
    });
  });

  it('a marker older than a sample applied since (a retried request) ends nothing; a marker of an unknown series creates nothing', () => {
    const agg = new PartitionAggregate(options({ seriesTtlMs: 300_000 }));
    agg.apply(record([[{ __name__: 'temperature', pod: 'a' }, [{ value: 20, timestamp: T0 }, stale(T0 + 1000), { value: 21, timestamp: T0 + 2000 }]]], TYPES), T0);
    expect(byId(agg.collect(T0 + 3000))).toEqual({ 'temperature{job="agent",pod="a"}': 21 });
    // the same request again: its marker is older than the 21 applied
    const again = agg.apply(record([[{ __name__: 'temperature', pod: 'a' }, [{ value: 20, timestamp: T0 }, stale(T0 + 1000), { value: 21, timestamp: T0 + 2000 }]]], TYPES), T0 + 4000);
    expect(again.accepted).toBe(1);
    expect(byId(agg.collect(T0 + 5000))).toEqual({ 'temperature{job="agent",pod="a"}': 21 });
    const unknown = agg.apply(record([[{ __name__: 'temperature', pod: 'z' }, [stale(T0 + 6000)]]], TYPES), T0 + 6000);
    expect(unknown.accepted + unknown.rejected).toBe(0);
    expect(agg.seriesCount).toBe(1);
  });

  it('is no value a total cannot take: a gauge a rule reads as a counter keeps its total, the request is not refused', () => {
    const agg = new PartitionAggregate(options({ rules: [{ match: 'load', inputType: 'counter' }] }));
    agg.apply(record([[{ __name__: 'load' }, [{ value: 4, timestamp: T0 }]]], TYPES), T0);
    const batch = record([[{ __name__: 'load' }, [stale(T0 + 1000)]]], TYPES);
    expect(batch.points.map((p) => p.staleMarker)).toEqual([true]);
    agg.apply(batch, T0 + 1000);
    expect(byId(agg.collect(T0 + 2000))).toEqual({ 'load{job="agent"}': 4 });
  });
});
