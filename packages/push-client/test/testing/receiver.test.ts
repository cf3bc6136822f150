import { compress, encodeWriteRequest, encodeWriteRequestV2 } from '@prom-relay/codec';
import type { WriteRequest } from '@prom-relay/codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriesName, startTestReceiver } from '../../src/testing/index.js';
import type { TestReceiver } from '../../src/testing/index.js';

const request: WriteRequest = { timeseries: [{ labels: { __name__: 'up', job: 'a' }, samples: [{ value: 1, timestamp: 5 }] }] };
const post = (url: string, body: Uint8Array, contentType: string) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': contentType, 'content-encoding': 'snappy' } });

describe('startTestReceiver', () => {
  let receiver: TestReceiver;
  beforeAll(async () => {
    receiver = await startTestReceiver();
  });
  afterAll(() => receiver.close());

  it('decodes v1 and v2 bodies by content type and answers 204 by default', async () => {
    expect((await post(`${receiver.url}/w`, compress(encodeWriteRequest(request)), 'application/x-protobuf')).status).toBe(204);
    const v2 = await post(receiver.url, compress(encodeWriteRequestV2(request)), 'application/x-protobuf;proto=io.prometheus.write.v2.Request');
    expect(v2.status).toBe(204);
    const [a, b] = receiver.requests;
    expect(a).toMatchObject({ index: 0, method: 'POST', url: '/w', protocol: 'v1', status: 204 });
    expect(b).toMatchObject({ index: 1, protocol: 'v2' });
    expect(a!.writeRequest!.timeseries[0]!.labels).toEqual({ __name__: 'up', job: 'a' });
    expect(b!.writeRequest!.timeseries[0]!.samples).toEqual([{ value: 1, timestamp: 5 }]);
  });

  it('answers 400 with the reason to a body that does not decode', async () => {
    const res = await post(receiver.url, new Uint8Array([1, 2, 3]), 'application/x-protobuf');
    expect(res.status).toBe(400);
    expect(receiver.requests.at(-1)!.decodeError).toBeTruthy();
    expect(await res.text()).toBe(receiver.requests.at(-1)!.decodeError);
  });

  it('answers what the behaviour says, and counts only accepted requests in acceptedSamples', async () => {
    receiver.requests.length = 0;
    receiver.respond((req) => (req.index === 0 ? { status: 503, headers: { 'Retry-After': '2' }, body: 'busy' } : undefined));
    const refused = await post(receiver.url, compress(encodeWriteRequest(request)), 'application/x-protobuf');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(await refused.text()).toBe('busy');
    expect(receiver.acceptedSamples().size).toBe(0);
    await post(receiver.url, compress(encodeWriteRequest(request)), 'application/x-protobuf');
    expect([...receiver.acceptedSamples().entries()]).toEqual([['up{job="a"}', [{ value: 1, timestamp: 5 }]]]);
  });

  it('names series the way the receiver keys them', () => {
    expect(seriesName({ __name__: 'x', b: '2', a: 'q"' })).toBe('x{b="2",a="q\\""}');
  });
});
