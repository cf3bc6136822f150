// Issue 10 item 4: a NUL byte in a job name was stored. A job name or grouping value with a control character
// (U+0000-U+001F, U+007F-U+009F) is refused by the ingest (400, PATH) whichever way the path spells it, and a Kafka
// record carrying one in its headers is dead-lettered (PROM_RELAY_DECODE_HEADER); so is a Remote Write target's.
import { compress, encodeWriteRequest } from '@prom-relay/codec';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/decode/index.js';
import { connectKafka } from '../../src/kafka/index.js';
import type { RelayProducer } from '../../src/kafka/index.js';
import { topicMessageCount } from '../ingest/kafka-read.js';
import { serveIngest, type ServedIngest } from '../ingest/serve.js';
import { RW1, TEXT, consumerView, readAll, send } from './ingest-helpers.js';

let producer: RelayProducer;
let served: ServedIngest;
let topic: string;
const b64 = (s: string) => Buffer.from(s).toString('base64url');

beforeAll(async () => {
  producer = await connectKafka({ brokers: testKafkaBrokers(), clientId: 'control-chars' }).producer();
  topic = await createTestTopic({ prefix: 'control-chars' });
  served = await serveIngest({ send: (m) => producer.send(topic, m) });
});
afterAll(async () => {
  await served?.close();
  await producer.disconnect();
});

const BODY = '# TYPE cc_rows_total counter\ncc_rows_total 1\n';

describe('control characters in a job name or grouping value', () => {
  it.each([
    ['NUL in the job, percent-encoded', '/metrics/job/ab%00cd', 'job name contains the control character U+0000'],
    ['NUL in the job, @base64', `/metrics/job@base64/${b64('ab\u0000cd')}`, 'job name contains the control character U+0000'],
    ['a newline in a grouping value', '/metrics/job/cc/instance/a%0Ab', 'value of grouping label instance contains the control character U+000A'],
    ['DEL in a grouping value, @base64', `/metrics/job/cc/region@base64/${b64('eu\u007f')}`, 'value of grouping label region contains the control character U+007F'],
    ['a C1 control in a grouping value', '/metrics/job/cc/region/%C2%85', 'value of grouping label region contains the control character U+0085'],
    ['a grouping value that is not UTF-8 once base64-decoded', `/metrics/job/cc/region@base64/${Buffer.from([0xff, 0xfe]).toString('base64url')}`, 'is not UTF-8 once base64-decoded'],
  ])('the ingest refuses %s with 400', async (_what, path, problem) => {
    const res = await send(served.url, 'PUT', path, TEXT, BODY);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^PROM_RELAY_INGEST_PATH: /);
    expect(res.text).toContain(problem);
  }, 60_000);

  it('a Remote Write target with a control character in its instance: its series refused, the others written', async () => {
    const before = await topicMessageCount(testKafkaBrokers(), topic);
    const req = {
      timeseries: [
        { labels: { __name__: 'cc_up', instance: 'bad\u0000host', job: 'node' }, samples: [{ value: 1, timestamp: 1_700_000_000_000 }] },
        { labels: { __name__: 'cc_up', instance: 'good-host', job: 'node' }, samples: [{ value: 1, timestamp: 1_700_000_000_000 }] },
      ],
    };
    const res = await send(served.url, 'POST', '/api/v1/write', RW1, Buffer.from(compress(encodeWriteRequest(req))));
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^PROM_RELAY_INGEST_LABELS: 1 series refused, 1 written/);
    expect(res.text).toContain('control character U+0000');
    expect(await topicMessageCount(testKafkaBrokers(), topic)).toBe(before + 1);
  }, 60_000);

  it.each([
    ['the job header', { 'prom-relay-job': 'ab\u0000cd' }, 'prom-relay-job: the job name contains the control character U+0000'],
    ['the grouping header, percent-encoded', { 'prom-relay-grouping': 'instance=a%01b' }, 'the value of instance contains the control character U+0001'],
    ['the grouping header, raw', { 'prom-relay-grouping': 'instance=a\u0007b' }, 'the value of instance contains the control character U+0007'],
  ])('a Kafka record with one in %s is dead-lettered as PROM_RELAY_DECODE_HEADER', async (_what, headers, problem) => {
    const kafkaTopic = await createTestTopic({ prefix: 'control-chars-kafka' });
    const base = { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': 'cc', 'prom-relay-producer': 'p-1' };
    await producer.send(kafkaTopic, [{ key: 'job=cc', value: Buffer.from(BODY), headers: { ...base, ...headers } }]);
    const view = consumerView((await readAll(kafkaTopic, 1))[0]!);
    expect(view).toBeInstanceOf(DecodeError);
    expect((view as DecodeError).code).toBe('PROM_RELAY_DECODE_HEADER');
    expect((view as DecodeError).message).toContain(problem);
  }, 60_000);
});
