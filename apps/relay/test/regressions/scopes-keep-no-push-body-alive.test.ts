// A text point's key is a slice of its push's body (V8 keeps the whole body alive for as long as a slice of 13+
// characters is held). A scope kept the key of its last lookup, to hash a new series once: that slice, so each scope
// (one per Pushgateway group) held its last push's body for as long as the scope lived — a 4 MB body per group, or a
// body per run of a cron job, for up to counter_ttl. Now it keeps a copy, of a missed key only.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { PartitionAggregate } from '../../src/aggregate/index.js';
import { decodeRecord, type KafkaRecord } from '../../src/decode/index.js';
import { options } from '../aggregate/fixtures.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function push(group: number, help: string): KafkaRecord {
  const body = [`# HELP rows_total ${help}`, '# TYPE rows_total counter', `rows_total{table="orders",status="ok"} ${group}`, `rows_total{table="users",status="ok"} 1`].join('\n');
  return {
    topic: 't',
    partition: 0,
    offset: String(group),
    key: null,
    value: Buffer.from(body),
    headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': 'cron', 'prom-relay-producer': `run-${group}`, 'prom-relay-grouping': `shard=${group}` },
  };
}

describe('scopes', () => {
  it('keep no push body alive once the push is applied', () => {
    const agg = new PartitionAggregate(options());
    const help = 'x'.repeat(4 << 20);
    agg.apply(decodeRecord(push(0, 'warm'), {}), 1000);
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let g = 1; g <= 10; g++) agg.apply(decodeRecord(push(g, help + g), {}), 1000 + g);
    gc();
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(agg.seriesCount).toBe(22);
    // ten 4 MB bodies would be 40 MB; what the scopes and series themselves take is a few KB
    expect(grown).toBeLessThan(8 << 20);
  });
});
