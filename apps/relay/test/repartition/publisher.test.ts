// The publisher encodes each partials message as soon as it is complete (its partials die young): it must still route
// every partial to its owner once, cut messages at the size limit and carry each message's families.
import { gunzipSync } from 'node:zlib';
import type { MetricMetadata } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { labelsKey } from '../../src/aggregate/labels.js';
import type { ProducedMessage } from '../../src/kafka/index.js';
import type { OutputSample } from '../../src/model.js';
import { PartialsPublisher, decodePartials, ownerPartition, toPartial } from '../../src/repartition/index.js';

describe('PartialsPublisher', () => {
  it('sends every partial to its owner once, in messages cut at the size limit, each with the metadata of its families', async () => {
    const sent: ProducedMessage[] = [];
    const producer = { send: async (_topic: string, messages: ProducedMessage[]) => void sent.push(...messages) };
    const publisher = new PartialsPublisher(producer as never, 'partials', 3);
    // Long keys: 3 owners' worth of messages over 512 KiB of keys each.
    const list: OutputSample[] = Array.from({ length: 12_000 }, (_, i) => {
      const labels = { __name__: i % 3 ? 'req_total' : 'temp', pad: 'p'.repeat(150), i: String(i) };
      return { labels, key: labelsKey(labels), value: i, combine: i % 3 ? 'total' : 'last', at: i, ...(i === 7 ? { stale: true } : {}) };
    });
    const describe_ = (s: OutputSample): MetricMetadata => ({ metricFamilyName: s.labels.__name__!, type: s.combine === 'total' ? 'counter' : 'gauge' });
    const result = await publisher.publish([{ source: 'metrics/2', offset: 41n, samples: list, describe: describe_ }]);
    expect(result.partials).toBe(list.length);
    expect(result.messages).toBe(sent.length);
    expect(sent.length).toBeGreaterThan(3);
    const seen = new Map<string, number>();
    for (const m of sent) {
      expect(m.headers).toMatchObject({ 'prom-relay-partials-source': 'metrics/2', 'prom-relay-partials-offset': '41' });
      const json = gunzipSync(m.value as Buffer).toString('utf8');
      const batch = decodePartials(m.value as Buffer);
      expect(batch.source).toBe('metrics/2');
      expect(batch.offset).toBe(41);
      let keyBytes = 0;
      for (const p of batch.series) {
        keyBytes += p.key.length + 32;
        const s = list[Number(/i="(\d+)"/.exec(p.key)![1])]!;
        expect(ownerPartition(s.labels, 3)).toBe(m.partition);
        // A stale partial carries no value on the wire.
        expect(p).toEqual(s.stale ? { ...toPartial(s, s.key!), value: 0 } : toPartial(s, s.key!));
        seen.set(p.key, (seen.get(p.key) ?? 0) + 1);
      }
      expect(keyBytes).toBeLessThanOrEqual(512 * 1024 + 200);
      const families = new Set(batch.series.filter((p) => !p.stale).map((p) => (p.key.startsWith('__name__="temp"') ? 'temp' : 'req_total')));
      expect(new Set(batch.metadata?.map((x) => x.metricFamilyName))).toEqual(families);
      expect(json.length).toBeGreaterThan(0);
    }
    expect(seen.size).toBe(list.length);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });
});
