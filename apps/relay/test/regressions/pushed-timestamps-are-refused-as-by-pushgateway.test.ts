// A Pushgateway refuses a push whose samples carry timestamps (400 "pushed metrics must not have timestamps"). The
// relay answered 200 and dropped the timestamps (its decoder reads and forgets them): the values were applied at the
// flush time, not the time the client wrote. Now the ingest refuses such a push too, text or protobuf, first push of a
// group or a later one (checked by the group's skeleton), naming the sample; the same bodies go to a real Pushgateway.
import { parseExposition } from '@prom-relay/codec';
import { startPushgateway, type PushgatewayServer } from '@prom-relay/infra';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestMessage } from '../../src/ingest/index.js';
import { firstTimestamp } from '../../src/ingest/push-timestamps.js';
import { serveIngest, type ServedIngest } from '../ingest/serve.js';
import { TEXT, send } from './ingest-helpers.js';

const root = protobuf.Root.fromJSON({
  nested: {
    LabelPair: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    Gauge: { fields: { value: { type: 'double', id: 1 } } },
    Metric: { fields: { label: { rule: 'repeated', type: 'LabelPair', id: 1 }, gauge: { type: 'Gauge', id: 2 }, timestampMs: { type: 'int64', id: 6 } } },
    MetricFamily: { fields: { name: { type: 'string', id: 1 }, type: { type: 'int32', id: 3 }, metric: { rule: 'repeated', type: 'Metric', id: 4 } } },
  },
});
const MetricFamily = root.lookupType('MetricFamily');
const PROTOBUF = { 'content-type': 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited' };
function gaugeFamily(name: string, timestampMs?: number): Buffer {
  const metric = { label: [{ name: 'a', value: 'b' }], gauge: { value: 2 }, ...(timestampMs !== undefined ? { timestampMs } : {}) };
  return Buffer.from(MetricFamily.encodeDelimited(MetricFamily.fromObject({ name, type: 1, metric: [metric] })).finish());
}

let pgw: PushgatewayServer;
let served: ServedIngest;
const produced: IngestMessage[] = [];

beforeAll(async () => {
  pgw = await startPushgateway();
  served = await serveIngest({ send: async (m) => void produced.push(...m) });
}, 60_000);
afterAll(async () => {
  await served?.close();
  await pgw?.stop();
});

/** The same request to the Pushgateway and to the relay's ingest: both statuses, the relay's answer, what it produced. */
async function both(path: string, headers: Record<string, string>, body: string | Buffer) {
  const before = produced.length;
  const [gateway, relay] = await Promise.all([send(pgw.url, 'PUT', path, headers, body), send(served.url, 'PUT', path, headers, body)]);
  return { statuses: [gateway.status, relay.status], relay: relay.text, produced: produced.length - before, gateway: gateway.text };
}

describe('a push with timestamps is refused, as a Pushgateway refuses it', () => {
  it('text: the first push of a group and a later one of a cached group (skeleton) are refused, naming the line', async () => {
    const first = await both('/metrics/job/stamped', TEXT, '# TYPE stamped_depth gauge\nstamped_depth{q="a"} 1\nstamped_depth{q="b"} 2 1700000000000\n');
    expect(first.gateway).toContain('pushed metrics must not have timestamps');
    expect(first.statuses).toEqual([400, 400]);
    expect(first.relay).toMatch(/^PROM_RELAY_INGEST_BODY: pushed metrics must not have timestamps \(line 3: "stamped_depth\{q=\\"b\\"\} 2 1700000000000"\)/);
    // the group's body without timestamps, twice (the second checked by its skeleton), then with one
    for (const value of [1, 2]) expect((await both('/metrics/job/stamped2', TEXT, `stamped_rows ${value}\n`)).statuses).toEqual([200, 200]);
    const later = await both('/metrics/job/stamped2', TEXT, 'stamped_rows 3 1700000000000\n');
    expect(later.statuses).toEqual([400, 400]);
    expect(later.produced).toBe(0);
    expect(first.produced).toBe(0);
  });

  it('protobuf (the Go client format): a metric with timestamp_ms is refused, naming the series', async () => {
    const stamped = await both('/metrics/job/stamped3', PROTOBUF, gaugeFamily('stamped_pb', 1700000000000));
    expect(stamped.statuses).toEqual([400, 400]);
    expect(stamped.relay).toMatch(/^PROM_RELAY_INGEST_BODY: pushed metrics must not have timestamps \(series stamped_pb\{a="b"\}\)/);
    expect(stamped.produced).toBe(0);
    expect((await both('/metrics/job/stamped3', PROTOBUF, gaugeFamily('stamped_pb'))).statuses).toEqual([200, 200]);
  });

  it('label values holding blanks, braces, quotes and digits are no timestamp: both take them', async () => {
    const body = [
      'stamped_tricky{a="x } 1 2",b="\\" 3 4"} 5',
      'stamped_tricky{a="y"}   6',
      'stamped_tricky {a="z"} 7',
      '# HELP stamped_other a help text 1 2 3',
      'stamped_other\t8',
      '',
    ].join('\n');
    expect(firstTimestamp(body)).toBeUndefined();
    const res = await both('/metrics/job/stamped4', TEXT, body);
    expect(res.statuses).toEqual([200, 200]);
    expect(res.produced).toBe(1);
  });
});

it('firstTimestamp finds a timestamp after any label set, blanks and a CR before the LF', () => {
  expect(firstTimestamp('m 1 2\n')).toBe('line 1: "m 1 2"');
  expect(firstTimestamp('a 1\nm{x="} 9"}\t1\t-5\r\n')).toBe('line 2: "m{x=\\"} 9\\"}\\t1\\t-5"');
  expect(firstTimestamp('m{x="\\\\"} 1 0\n')).toBe('line 1: "m{x=\\"\\\\\\\\\\"} 1 0"');
  // trailing blanks are no timestamp (the relay's parser takes them; a Pushgateway refuses the line as a bad timestamp)
  expect(firstTimestamp('m 1 \t\r\n  # comment 1 2\n')).toBeUndefined();
});

it('firstTimestamp agrees with the codec parser on 5,000 random bodies (tricky label values, blanks, CRLF, comments)', () => {
  let seed = 11;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const values = ['', 'x', '} 1 2', '\\"} 3', ' ', '1 2 3', '#', '}', '\\\\'];
  const blanks = () => [' ', '\t', '  ', ' \t'][rnd(4)]!;
  let stamped = 0;
  for (let n = 0; n < 5000; n++) {
    const lines: string[] = [];
    for (let k = 0; k < 1 + rnd(6); k++) {
      if (rnd(5) === 0) lines.push(`${rnd(2) ? '  ' : ''}# HELP m${k} help 1 2 ${rnd(9)}`);
      const pairs = Array.from({ length: rnd(3) }, (_, j) => `l${j}="${values[rnd(values.length)]}"`);
      const labels = pairs.length > 0 || rnd(2) === 0 ? `${rnd(3) === 0 ? ' ' : ''}{${pairs.join(',')}}` : '';
      const ts = rnd(8) === 0 ? `${blanks()}${rnd(2) ? '-' : ''}${1700000000000 + rnd(1000)}` : '';
      lines.push(`m${k}${labels}${blanks()}${rnd(100)}${ts}${rnd(4) === 0 ? blanks() : ''}${rnd(5) === 0 ? '\r' : ''}`);
    }
    const body = `${lines.join('\n')}\n`;
    const parsed = parseExposition(body).some((f) => f.samples.some((x) => x.timestamp !== undefined));
    expect(firstTimestamp(body) !== undefined, body).toBe(parsed);
    if (parsed) stamped++;
  }
  expect(stamped).toBeGreaterThan(1000);
});
