// Run detection without a header: the process run a push comes from, read from its process_start_time_seconds.
import protobuf from 'protobufjs';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { processRunId } from '../../src/ingest/producer-id.js';

const PROTO = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const root = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Gauge: { fields: { value: { type: 'double', id: 1 } } },
    Counter: { fields: { value: { type: 'double', id: 1 } } },
    Metric: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, gauge: { type: 'Gauge', id: 2 }, counter: { type: 'Counter', id: 3 } } },
    MetricFamily: { fields: { name: { type: 'string', id: 1 }, help: { type: 'string', id: 2 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
  },
});
const MetricFamily = root.lookupType('MetricFamily');
const delimited = (families: object[]) =>
  Buffer.concat(families.map((f) => Buffer.from(MetricFamily.encodeDelimited(MetricFamily.fromObject(f)).finish())));

describe('processRunId', () => {
  it("reads prom-client's default registry (text), the value the registry wrote", async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    new Counter({ name: 'rows_total', help: 'h', registers: [registry] }).inc(3);
    const text = await registry.metrics();
    const written = Number(/^process_start_time_seconds (\S+)$/m.exec(text)![1]);
    expect(processRunId(Buffer.from(text), 'text/plain; version=0.0.4')).toBe(`process_start=${written}`);
  });

  it('reads it from the protobuf delimited format (the Go client), among other families', () => {
    const body = delimited([
      { name: 'go_goroutines', type: 1, metric: [{ gauge: { value: 7 } }] },
      { name: 'process_start_time_seconds', help: 'Start time of the process since unix epoch in seconds.', type: 1, metric: [{ gauge: { value: 1796143678.11 } }] },
      { name: 'rows_total', type: 0, metric: [{ counter: { value: 3 } }] },
    ]);
    expect(processRunId(body, PROTO)).toBe('process_start=1796143678.11');
  });

  it('finds the sample line, not comments, longer names or label values; labels and timestamps allowed', () => {
    const text = [
      '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
      '# TYPE process_start_time_seconds gauge',
      'x{a="process_start_time_seconds 5"} 1',
      'process_start_time_seconds_total 9',
      'process_start_time_seconds{app="a}b"} 1700000000.5 1700000001000',
      '',
    ].join('\n');
    expect(processRunId(Buffer.from(text), undefined)).toBe('process_start=1700000000.5');
  });

  it('answers undefined when the push has none, or an unusable value, or a body that does not parse', () => {
    expect(processRunId(Buffer.from('rows_total 3\n'), undefined)).toBeUndefined();
    expect(processRunId(Buffer.from('process_start_time_seconds NaN\n'), undefined)).toBeUndefined();
    expect(processRunId(Buffer.from('process_start_time_seconds 0\n'), undefined)).toBeUndefined();
    expect(processRunId(Buffer.from('process_start_time_seconds\n'), undefined)).toBeUndefined();
    const truncated = delimited([{ name: 'process_start_time_seconds', type: 1, metric: [{ gauge: { value: 5 } }] }]).subarray(0, 20);
    expect(processRunId(truncated, PROTO)).toBeUndefined();
  });
});
