// A push replaces its group's gauges as a Pushgateway PUT (op push) or POST (op add) replaces the group's metrics:
// a gauge the push no longer carries ends at once (one stale sample at the next collect), for every run of the group;
// counter totals stay. Remote Write (partial) and late pushes replace nothing. See aggregate/group-ends.ts.
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { decodeRecord } from '../../src/decode/index.js';
import type { AggregateOptions } from '../../src/aggregate/index.js';
import { batch, byId, counter, gauge, options } from './fixtures.js';

const viaJson = <T>(x: T) => JSON.parse(JSON.stringify(x)) as T;
const restored = (agg: PartitionAggregate, opts: AggregateOptions) => PartitionAggregate.fromState(viaJson(agg.toState()), opts);

describe('a push replaces its group’s gauges', () => {
  it('a PUT without a gauge ends it at once; its counter total stays', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 0, grouping: { instance: 'a' }, points: [counter('done_total', 3), gauge('queue', 7), gauge('temp', 20)] }), 1000);
    expect(byId(agg.collect(1000))).toEqual({ 'done_total{job="job1"}': 3, 'queue{job="job1"}': 7, 'temp{job="job1"}': 20 });
    agg.apply(batch({ producer: 'p1', seq: 1, grouping: { instance: 'a' }, points: [gauge('temp', 21)] }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'done_total{job="job1"}': 3, 'queue{job="job1"}': 'stale', 'temp{job="job1"}': 21 });
    expect(byId(agg.collect(3000))).toEqual({ 'done_total{job="job1"}': 3, 'temp{job="job1"}': 21 });
  });

  it('an empty PUT ends every gauge of the group', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 0, points: [counter('done_total', 3), gauge('queue', 7)] }), 1000);
    agg.collect(1000);
    agg.apply(batch({ producer: 'p1', seq: 1, points: [] }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'done_total{job="job1"}': 3, 'queue{job="job1"}': 'stale' });
  });

  it('a POST ends the missing series of the families it carries, and no other family', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 0, points: [gauge('disk', 1, { dev: 'a' }), gauge('disk', 2, { dev: 'b' }), gauge('temp', 20)] }), 1000);
    agg.collect(1000);
    agg.apply(batch({ producer: 'p1', seq: 1, op: 'add', points: [gauge('disk', 5, { dev: 'a' })] }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'disk{dev="a",job="job1"}': 5, 'disk{dev="b",job="job1"}': 'stale', 'temp{job="job1"}': 20 });
  });

  it('a run’s push replaces the gauges of the group’s other runs: a sum over the group counts the last push only', () => {
    const opts = options({ rules: [{ match: 'queue', without: ['instance'], outputs: ['sum'] }] });
    const agg = new PartitionAggregate(opts);
    const group = 'pushgateway/job=job1&instance=a';
    agg.apply(batch({ producer: `${group}/run=process_start=1`, grouping: { instance: 'a' }, points: [gauge('queue', 10), gauge('backlog', 4)] }), 1000);
    agg.apply(batch({ producer: 'pushgateway/job=job1&instance=b', grouping: { instance: 'b' }, points: [gauge('queue', 1)] }), 1000);
    expect(byId(agg.collect(1000))['queue:without_instance_sum{job="job1"}']).toBe(11);
    // the next run of group a (a new process): its PUT holds the group now, as in the Pushgateway
    agg.apply(batch({ producer: `${group}/run=process_start=2`, grouping: { instance: 'a' }, points: [gauge('queue', 12)] }), 2000);
    const after = byId(agg.collect(2000));
    expect(after['queue:without_instance_sum{job="job1"}']).toBe(13);
    expect(after['backlog{job="job1"}']).toBe('stale');
    // a DELETE of the group (no run) ends the gauges of every run of it
    agg.apply(batch({ producer: group, op: 'delete', grouping: { instance: 'a' } }), 3000);
    expect(byId(agg.collect(3000))['queue:without_instance_sum{job="job1"}']).toBe(1);
  });

  it('a producer’s push to one group leaves its gauges in its other groups alone', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 0, grouping: { shard: '1' }, points: [gauge('lag', 5)] }), 1000);
    agg.apply(batch({ producer: 'p1', seq: 1, grouping: { shard: '2' }, points: [gauge('lag', 6)] }), 1000);
    agg.apply(batch({ producer: 'p1', seq: 2, grouping: { shard: '1' }, points: [gauge('other', 1)] }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'lag{job="job1",shard="1"}': 'stale', 'lag{job="job1",shard="2"}': 6, 'other{job="job1",shard="1"}': 1 });
  });

  it('Remote Write (a partial body) and a late forwarded push replace nothing', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 5, points: [gauge('queue', 7), gauge('temp', 20)] }), 1000);
    agg.collect(1000);
    const rw = batch({ producer: 'p1', seq: 6, points: [gauge('temp', 21)] });
    rw.partial = true;
    agg.apply(rw, 2000);
    const late = batch({ producer: 'p1', seq: 4, points: [gauge('temp', 19)] });
    late.forwarded = true;
    agg.apply(late, 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'queue{job="job1"}': 7, 'temp{job="job1"}': 21 });
  });

  it('a gauge last set by samples (Remote Write, JSON lines: the emitter’s emit) is not ended by a snapshot push, also after a restore', () => {
    const opts = options();
    const agg = new PartitionAggregate(opts);
    const emitted = batch({ producer: 'p1', seq: 0, points: [gauge('last_success', 1700)] });
    emitted.partial = true;
    agg.apply(emitted, 1000);
    agg.apply(batch({ producer: 'p1', seq: 1, points: [gauge('queue', 7)] }), 1500);
    const again = PartitionAggregate.fromState(viaJson(agg.toState()), opts);
    for (const a of [agg, again]) {
      a.apply(batch({ producer: 'p1', seq: 2, points: [gauge('temp', 20)] }), 2000);
      expect(byId(a.collect(2000))).toEqual({ 'last_success{job="job1"}': 1700, 'queue{job="job1"}': 'stale', 'temp{job="job1"}': 20 });
    }
  });

  it('a series the push carries but could not apply (a limit, an older sample) is not ended', () => {
    const agg = new PartitionAggregate(options());
    agg.apply(batch({ producer: 'p1', seq: 0, points: [{ ...gauge('queue', 7), timestamp: 5000 }] }), 1000);
    agg.collect(1000);
    agg.apply(batch({ producer: 'p1', seq: 1, points: [{ ...gauge('queue', 6), timestamp: 4000 }] }), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'queue{job="job1"}': 7 });
  });

  it('replaces the same after a checkpoint restore, and after a restore of a state whose producer scopes predate groups', () => {
    const opts = options({ rules: [{ match: 'queue', without: ['instance'], outputs: ['sum'] }] });
    const group = 'pushgateway/job=job1&instance=a';
    const before = new PartitionAggregate(opts);
    before.apply(batch({ producer: `${group}/run=1`, grouping: { instance: 'a' }, points: [gauge('queue', 10)] }), 1000);
    before.apply(batch({ producer: 'p2', op: 'add', grouping: { instance: 'b' }, points: [gauge('queue', 1), gauge('disk', 3, { dev: 'x' })] }), 1000);
    before.collect(1000);
    const state = viaJson(before.toState());
    // The same state as a relay before this change wrote it: producer scope keys without their group.
    const legacy = viaJson(state);
    legacy.pscopes.key = legacy.pscopes.key.map((k: string) => k.slice(k.indexOf('\u0001') + 1));
    const next = (agg: PartitionAggregate) => {
      agg.apply(batch({ producer: `${group}/run=2`, grouping: { instance: 'a' }, points: [gauge('queue', 12)] }), 2000);
      agg.apply(batch({ producer: 'p2', op: 'add', grouping: { instance: 'b' }, points: [gauge('disk', 4, { dev: 'y' })] }), 2000);
      return byId(agg.collect(2000));
    };
    const expected = next(restored(before, opts));
    expect(expected['queue:without_instance_sum{job="job1"}']).toBe(13);
    expect(expected['disk{dev="x",job="job1"}']).toBe('stale');
    expect(next(PartitionAggregate.fromState(state, opts))).toEqual(expected);
    expect(next(PartitionAggregate.fromState(legacy, opts))).toEqual(expected);
    expect(next(before)).toEqual(expected);
  });

  it('through the decoder: the emitter’s text push is a snapshot, its JSON lines emit and Remote Write are samples', () => {
    let seq = 0;
    const record = (contentType: string, body: string) =>
      decodeRecord({
        topic: 't',
        partition: 0,
        offset: String(seq),
        key: null,
        value: Buffer.from(body),
        headers: { 'content-type': contentType, 'prom-relay-job': 'job1', 'prom-relay-producer': 'p1', 'prom-relay-seq': String(seq++) },
      });
    const text = (body: string) => record('text/plain; version=0.0.4', body);
    const json = (body: string) => record('application/x-ndjson', body);
    expect(text('queue 1\n').partial).toBeUndefined();
    expect(json('{"name":"x","type":"gauge","value":1}').partial).toBe(true);
    expect(record('application/x-protobuf', '').partial).toBe(true);
    const agg = new PartitionAggregate(options());
    agg.apply(text('# TYPE queue gauge\nqueue 7\n'), 1000);
    agg.apply(json('{"name":"last_success","type":"gauge","value":1700}'), 1000);
    agg.apply(text('# TYPE temp gauge\ntemp 20\n'), 2000);
    expect(byId(agg.collect(2000))).toEqual({ 'last_success{job="job1"}': 1700, 'queue{job="job1"}': 'stale', 'temp{job="job1"}': 20 });
  });
});
