import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { decodeRecord } from '../../src/decode/index.js';
import type { KafkaRecord } from '../../src/decode/index.js';
import { byId, options, rng } from './fixtures.js';

/** A short-lived job run as a Pushgateway client would push it: cumulative text exposition, one producer id per run. */
function run(job: string, runId: string, instance: string, pushes: number[][]): KafkaRecord[] {
  return pushes.map(([rows, hist1, histInf], seq) => ({
    topic: 'prom-relay.metrics',
    partition: 0,
    offset: '0',
    key: Buffer.from(`job=${job}`),
    value: Buffer.from(
      [
        '# HELP rows_total Rows.',
        '# TYPE rows_total counter',
        `rows_total{table="users"} ${rows}`,
        '# TYPE lat histogram',
        `lat_bucket{le="1"} ${hist1}`,
        `lat_bucket{le="+Inf"} ${histInf}`,
        `lat_sum ${histInf! * 0.5}`,
        `lat_count ${histInf}`,
        '# TYPE last_run_timestamp gauge',
        `last_run_timestamp ${seq}`,
        '',
      ].join('\n'),
    ),
    headers: {
      'content-type': Buffer.from('text/plain; version=0.0.4'),
      'prom-relay-job': Buffer.from(job),
      'prom-relay-producer': Buffer.from(runId),
      'prom-relay-grouping': Buffer.from(`instance=${instance}`),
      'prom-relay-seq': Buffer.from(String(seq)),
    },
  }));
}

describe('decoded text stream into the aggregate', () => {
  it('a fleet of short-lived runs (overlapping, replayed, restored mid-stream) totals exactly what they emitted', () => {
    const rand = rng(99);
    const streams: KafkaRecord[][] = [];
    let rowsEmitted = 0;
    let countEmitted = 0;
    for (let r = 0; r < 60; r++) {
      const pushes: number[][] = [];
      let rows = 0;
      let h1 = 0;
      let hInf = 0;
      for (let p = 0; p < 1 + Math.floor(rand() * 4); p++) {
        rows += Math.floor(rand() * 50);
        const fast = Math.floor(rand() * 5);
        h1 += fast;
        hInf += fast + Math.floor(rand() * 3);
        pushes.push([rows, h1, hInf]);
      }
      rowsEmitted += rows;
      countEmitted += hInf;
      // Runs share instances (overlapping runs on one host) and are interleaved below.
      streams.push(run('nightly', `run-${r}`, `host-${r % 7}`, pushes));
    }
    const log: KafkaRecord[] = [];
    while (streams.some((s) => s.length > 0)) {
      const live = streams.filter((s) => s.length > 0);
      const s = live[Math.floor(rand() * live.length)]!;
      log.push(s.shift()!);
      if (rand() < 0.1) log.push(log[Math.floor(rand() * log.length)]!); // a redelivered message
    }
    let agg = new PartitionAggregate(options());
    log.forEach((record, i) => {
      agg.apply(decodeRecord(record, {}), 1000 + i);
      if (i === Math.floor(log.length / 2)) agg = PartitionAggregate.fromState(JSON.parse(JSON.stringify(agg.toState())), options());
    });
    const out = byId(agg.collect(1000 + log.length));
    expect(out['rows_total{job="nightly",table="users"}']).toBe(rowsEmitted);
    expect(out['lat_count{job="nightly"}']).toBe(countEmitted);
    expect(out['lat_bucket{job="nightly",le="+Inf"}']).toBe(countEmitted);
    expect(out['last_run_timestamp{job="nightly"}']).toBeTypeOf('number');
    expect(agg.seriesCount).toBe(6);
  });

  it('text points serialise with their labels (they are parsed on demand)', () => {
    const [record] = run('j', 'r', 'h', [[1, 1, 1]]);
    const point = decodeRecord(record!, {}).points[0]!;
    expect(JSON.parse(JSON.stringify(point))).toEqual({
      family: 'rows_total',
      type: 'counter',
      labels: { __name__: 'rows_total', table: 'users', job: 'j', instance: 'h' },
      value: 1,
      key: 'rows_total{table="users"}',
    });
  });
});
