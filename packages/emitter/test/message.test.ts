import { describe, expect, it } from 'vitest';
import {
  CONTENT_TYPE,
  EmitterError,
  buildMessage,
  buildMessageKey,
  decodeGrouping,
  encodeGrouping,
  formatJsonLines,
  parseMessageHeaders,
} from '@prom-relay/emitter';

describe('buildMessageKey', () => {
  it('keys by job and grouping labels sorted by name, leaving out instance', () => {
    expect(buildMessageKey('nightly-export', { region: 'eu', instance: 'host-1', az: 'b' })).toBe('job=nightly-export,az=b,region=eu');
  });

  it('percent-encodes values as a URL query does', () => {
    expect(buildMessageKey('a/b c', { path: '/x,y=z' })).toBe('job=a%2Fb%20c,path=%2Fx%2Cy%3Dz');
  });

  it('leaves out whatever producer labels are configured', () => {
    expect(buildMessageKey('j', { pod: 'p-1', instance: 'i', zone: 'z' }, ['pod'])).toBe('job=j,instance=i,zone=z');
  });
});

describe('grouping query', () => {
  it('round-trips values with reserved characters and empty values', () => {
    const grouping = { instance: 'host 1/a&b=c', region: 'ü', empty: '' };
    const query = encodeGrouping(grouping);
    expect(query).toBe('empty=&instance=host%201%2Fa%26b%3Dc&region=%C3%BC');
    expect(decodeGrouping(query)).toEqual(grouping);
  });

  it('reads + as a space, as URL queries written by hand do', () => {
    expect(decodeGrouping('instance=host+1')).toEqual({ instance: 'host 1' });
  });
});

describe('buildMessage / parseMessageHeaders', () => {
  it('writes the documented headers and reads them back', () => {
    const msg = buildMessage(
      { contentType: CONTENT_TYPE.ndjson, job: 'j', grouping: { instance: 'h' }, producerId: 'p-1', sequence: 7, temporality: 'delta', op: 'add' },
      Buffer.from('x'),
    );
    expect(msg.key).toBe('job=j');
    expect(msg.headers).toEqual({
      'content-type': 'application/x-ndjson',
      'prom-relay-job': 'j',
      'prom-relay-grouping': 'instance=h',
      'prom-relay-producer': 'p-1',
      'prom-relay-seq': '7',
      'prom-relay-temporality': 'delta',
      'prom-relay-op': 'add',
    });
    const asConsumed = Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, Buffer.from(v)]));
    expect(parseMessageHeaders(asConsumed)).toEqual({
      contentType: 'application/x-ndjson', job: 'j', grouping: { instance: 'h' }, producerId: 'p-1', sequence: 7, temporality: 'delta', op: 'add',
    });
  });

  it('rejects an empty job, a job grouping label and a bad label name with a code', () => {
    const meta = { contentType: CONTENT_TYPE.text, producerId: 'p' };
    for (const [job, grouping] of [['', {}], ['j', { job: 'x' }], ['j', { 'bad-name': 'x' }]] as const) {
      const err = (() => { try { buildMessage({ ...meta, job, grouping }, Buffer.alloc(0)); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(EmitterError);
      expect((err as EmitterError).code).toBe('PROM_RELAY_EMITTER_GROUPING');
    }
  });

  it('names the missing or malformed header', () => {
    expect(() => parseMessageHeaders({ 'content-type': 'text/plain', 'prom-relay-producer': 'p' })).toThrow(/prom-relay-job/);
    expect(() => parseMessageHeaders({ 'content-type': 'text/plain', 'prom-relay-job': 'j', 'prom-relay-producer': 'p', 'prom-relay-seq': '-1' })).toThrow(/prom-relay-seq/);
    expect(() => parseMessageHeaders({ 'content-type': 'text/plain', 'prom-relay-job': 'j', 'prom-relay-producer': 'p', 'prom-relay-temporality': 'x' })).toThrow(/prom-relay-temporality/);
  });
});

describe('formatJsonLines', () => {
  it('writes one line per sample in the documented shape, non-finite values as strings', () => {
    const text = formatJsonLines([
      { name: 'rows_written_total', type: 'counter', labels: { table: 'users' }, value: 120 },
      { name: 'queue_depth', type: 'gauge', value: NaN },
      { name: 'latency_seconds', type: 'histogram', buckets: { '0.1': 3, '+Inf': 6 }, sum: 2.7, count: 6 },
      { name: 'rpc_seconds', type: 'summary', quantiles: { '0.5': 0.2 }, sum: Infinity, count: 40, temporality: 'delta' },
    ]);
    expect(text.split('\n')).toEqual([
      '{"name":"rows_written_total","type":"counter","labels":{"table":"users"},"value":120}',
      '{"name":"queue_depth","type":"gauge","value":"NaN"}',
      '{"name":"latency_seconds","type":"histogram","buckets":{"0.1":3,"+Inf":6},"sum":2.7,"count":6}',
      '{"name":"rpc_seconds","type":"summary","quantiles":{"0.5":0.2},"sum":"+Inf","count":40,"temporality":"delta"}',
      '',
    ]);
  });

  it('rejects bad names, types, labels and values naming the sample', () => {
    expect(() => formatJsonLines([{ name: '1bad', value: 1 }])).toThrow(/1bad/);
    expect(() => formatJsonLines([{ name: 'x', type: 'weird' as never, value: 1 }])).toThrow(/weird/);
    expect(() => formatJsonLines([{ name: 'x', labels: { 'a-b': 'c' }, value: 1 }])).toThrow(/a-b/);
    expect(() => formatJsonLines([{ name: 'x', value: '3' as never }])).toThrow(/"x": value must be a number/);
    expect(() => formatJsonLines([{ name: 'h', type: 'histogram', sum: 1, count: 1 }])).toThrow(/needs buckets/);
  });
});
