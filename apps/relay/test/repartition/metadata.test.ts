// Metadata through the repartition stage: a source names family and type of each output series (rule outputs typed by
// what they are), partials carry them, the owner keeps them (and in its checkpoint) for the flush.
import { describe, expect, it } from 'vitest';
import { labelsKey } from '../../src/aggregate/index.js';
import { FamilyTable, SeriesCombiner, SourceState, decodePartials, encodePartials } from '../../src/repartition/index.js';
import { batch, histogram, options, point } from '../aggregate/fixtures.js';

describe('a source partition names the family and type of every output series', () => {
  it('default outputs keep their input family; rule outputs are typed by what they are', () => {
    const state = SourceState.create(
      options({
        rules: [
          { match: 'req_total', by: ['route'], outputs: ['total', 'max'], keepInput: true },
          { match: 'lat', by: [], outputs: ['histogram'], keepInput: true },
          { match: 'temp', by: [], outputs: ['histogram', 'avg'], buckets: [10, 20] },
        ],
      }),
      3_600_000,
    );
    state.apply(
      batch({
        producer: 'p1',
        points: [
          point('req_total', 'counter', 5, { route: '/a' }),
          point('temp', 'gauge', 15),
          point('up', 'untyped', 1),
          ...histogram('lat', { '0.5': 1, '+Inf': 2 }, 0.7, 2),
        ],
      }),
      1000,
    );
    const types = Object.fromEntries(state.collect(1000).map((s) => [s.labels['__name__'], state.metadataOf(s)]));
    expect(types['req_total']).toEqual({ metricFamilyName: 'req_total', type: 'counter' });
    expect(types['req_total:by_route_total']).toEqual({ metricFamilyName: 'req_total:by_route_total', type: 'counter' });
    expect(types['req_total:by_route_max']).toEqual({ metricFamilyName: 'req_total:by_route_max', type: 'gauge' });
    expect(types['lat_bucket']).toEqual({ metricFamilyName: 'lat', type: 'histogram' });
    expect(types['lat_sum']).toEqual({ metricFamilyName: 'lat', type: 'histogram' });
    expect(types['up']).toEqual({ metricFamilyName: 'up', type: 'unknown' });
    expect(types['temp:avg']).toEqual({ metricFamilyName: 'temp:avg', type: 'gauge' });
    expect(types['temp:histogram_bucket']).toEqual({ metricFamilyName: 'temp:histogram', type: 'histogram' });
    expect(Object.values(types).find((m) => (m as { metricFamilyName: string }).metricFamilyName.startsWith('lat:'))).toEqual({ metricFamilyName: 'lat:histogram', type: 'histogram' });
  });

  it('keeps help and unit from metadata that comes with a push, and its families through a checkpoint', () => {
    const state = SourceState.create(options(), 3_600_000);
    const b = batch({ producer: 'p1', points: [point('bytes_total', 'counter', 5)] });
    b.metadata = [{ metricFamilyName: 'bytes_total', type: 'counter', help: 'Bytes read.', unit: 'bytes' }];
    state.apply(b, 1000);
    const restored = SourceState.fromState(JSON.parse(JSON.stringify(state.toState())), options(), 3_600_000);
    for (const s of [state, restored]) {
      expect(s.metadataOf(s.collect(2000)[0]!)).toEqual({ metricFamilyName: 'bytes_total', type: 'counter', help: 'Bytes read.', unit: 'bytes' });
    }
  });

  it('reads a checkpoint written before metadata was carried (a bare aggregate state)', () => {
    const state = SourceState.create(options(), 3_600_000);
    state.apply(batch({ producer: 'p1', points: [point('c_total', 'counter', 5)] }), 1000);
    const bare = JSON.parse(JSON.stringify(state.aggregate.toState()));
    expect(SourceState.fromState(bare, options(), 3_600_000).collect(2000).map((s) => s.value)).toEqual([5]);
  });

  it('forgets families not fed for its lifetime', () => {
    const table = new FamilyTable();
    table.observe(batch({ producer: 'p', points: [point('g', 'gauge', 1)] }), 0);
    table.expire(10, 5);
    expect(table.metadataOf({ labels: { __name__: 'g' }, value: 1, combine: 'total' })).toEqual({ metricFamilyName: 'g', type: 'counter' });
  });
});

describe('the owner keeps what the sources said', () => {
  it('carries metadata on the wire, keeps the latest per family, and through its checkpoint', async () => {
    const key = labelsKey({ __name__: 'bytes_total', job: 'x' });
    const wire = decodePartials(
      await encodePartials({ source: 't/0', offset: 1, series: [{ key, combine: 'total', value: 3, stale: false }], metadata: [{ metricFamilyName: 'bytes_total', type: 'counter', help: 'Bytes.', unit: 'bytes' }] }),
    );
    expect(wire.metadata).toEqual([{ metricFamilyName: 'bytes_total', type: 'counter', help: 'Bytes.', unit: 'bytes' }]);
    const c = new SeriesCombiner({ ttlMs: 60_000 });
    c.apply(wire, 1000);
    c.apply({ ...wire, source: 't/1', metadata: [{ metricFamilyName: 'bytes_total', type: 'counter', help: 'Bytes read.' }] }, 2000);
    expect(c.metadata(3000)).toEqual([{ metricFamilyName: 'bytes_total', type: 'counter', help: 'Bytes read.' }]);
    const restored = SeriesCombiner.fromState(JSON.parse(JSON.stringify(c.toState())), { ttlMs: 60_000 });
    expect(restored.metadata(3000)).toEqual(c.metadata(3000));
    expect(c.metadata(70_000)).toEqual([]);
  });
});
