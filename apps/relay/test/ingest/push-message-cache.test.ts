// The ingest remembers parsed push paths and the key and headers built for them (pushgateway.ts): a cached message
// must be the one built from scratch, for every op, run id, encoding and content type; a bad path fails every time.
import { CONTENT_TYPE } from '@prom-relay/emitter';
import { expect, it } from 'vitest';
import { IngestError } from '../../src/ingest/errors.js';
import { cachedPushPath, parsePushPath, pushMessage } from '../../src/ingest/pushgateway.js';

const body = Buffer.from('x 1\n');

it('builds the same key and headers from a cached path as from a fresh parse, per variant', () => {
  const path = '/metrics/job/api/instance/h1/region@base64/ZXU';
  for (let round = 0; round < 3; round++) {
    const cached = cachedPushPath(path);
    expect(cached).toBe(cachedPushPath(path));
    for (const op of ['push', 'add', 'delete'] as const) {
      for (const runId of [undefined, 'r1', 'process_start=17']) {
        for (const snappy of [false, true]) {
          for (const contentType of [CONTENT_TYPE.text, 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited']) {
            for (const labels of [['instance'], ['instance', 'region']]) {
              const fresh = pushMessage(parsePushPath(path), op, body, labels, runId, snappy, contentType);
              const fromCache = pushMessage(cached, op, body, labels, runId, snappy, contentType);
              expect(fromCache).toEqual(fresh);
              expect(fromCache.value).toBe(body);
            }
          }
        }
      }
    }
  }
  // Shared between requests, so nothing may change them.
  expect(Object.isFrozen(cachedPushPath(path).grouping)).toBe(true);
  expect(Object.isFrozen(pushMessage(cachedPushPath(path), 'push', body, ['instance']).headers)).toBe(true);
});

it('refuses a bad path on every request, not only the first', () => {
  for (let i = 0; i < 2; i++) expect(() => cachedPushPath('/metrics/job/api/instance')).toThrow(IngestError);
  expect(() => cachedPushPath('/metrics/job/a%ZZ')).toThrow(/not valid percent-encoding/);
});
