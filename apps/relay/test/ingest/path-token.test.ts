// A bearer token carried in the path (`/token/<token>/…`), for clients whose only setting is a URL (Flink's reporter).
import { compress, encodeWriteRequest } from '@prom-relay/codec';
import { afterEach, describe, expect, it } from 'vitest';
import { maskPathToken, splitPathToken } from '../../src/ingest/auth.js';
import type { IngestLogEntry, IngestMessage, IngestOptions } from '../../src/ingest/index.js';
import { serveIngest } from './serve.js';
import type { ServedIngest } from './serve.js';

const TOKEN = 'flink/tok+5b1=';
const IN_URL = encodeURIComponent(TOKEN); // flink%2Ftok%2B5b1%3D
const TEXT = '# TYPE rows gauge\nrows 3\n';

let served: ServedIngest | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

async function start(options: Partial<IngestOptions> = {}) {
  const sent: IngestMessage[][] = [];
  const logs: IngestLogEntry[] = [];
  served = await serveIngest({ send: async (m) => void sent.push(m), log: (e) => logs.push(e), ...options });
  const call = async (method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}) => {
    const res = await fetch(`${served!.url}${path}`, { method, headers: { 'content-type': 'text/plain; version=0.0.4', ...headers }, ...(body !== undefined ? { body } : {}) });
    return { status: res.status, text: await res.text(), challenge: res.headers.get('www-authenticate') };
  };
  return { call, sent, logs };
}

/** Everything a client or the log could see, to look for the token in. */
const everything = (answers: Array<{ text: string }>, logs: IngestLogEntry[]) => JSON.stringify(answers) + JSON.stringify(logs);

describe('a bearer token in the path', () => {
  it('is accepted exactly as the bearer token in a header: same message, masked in the log', async () => {
    const { call, sent, logs } = await start({ auth: { bearer: [TOKEN, 'other'] } });
    const viaPath = await call('PUT', `/token/${IN_URL}/metrics/job/flinkab12/instance/tm1`, TEXT);
    const viaHeader = await call('PUT', '/metrics/job/flinkab12/instance/tm1', TEXT, { authorization: `Bearer ${TOKEN}` });
    expect([viaPath.status, viaHeader.status]).toEqual([200, 200]);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual(sent[1]);
    expect(sent[0]![0]!.headers['prom-relay-job']).toBe('flinkab12');
    // DELETE (Flink's deleteOnShutdown) and POST take it too.
    expect((await call('DELETE', `/token/${IN_URL}/metrics/job/flinkab12`)).status).toBe(202);
    expect((await call('POST', `/token/${IN_URL}/metrics/job/flinkab12`, TEXT)).status).toBe(200);
    expect(logs.map((l) => [l.api, l.path])).toEqual([
      ['pushgateway', '/token/<masked>/metrics/job/flinkab12/instance/tm1'],
      ['pushgateway', '/metrics/job/flinkab12/instance/tm1'],
      ['pushgateway', '/token/<masked>/metrics/job/flinkab12'],
      ['pushgateway', '/token/<masked>/metrics/job/flinkab12'],
    ]);
  });

  it('on the Remote Write routes too', async () => {
    const { call, sent, logs } = await start({ auth: { bearer: [TOKEN] } });
    const body = compress(encodeWriteRequest({ timeseries: [{ labels: { __name__: 'up', job: 'a' }, samples: [{ value: 1, timestamp: Date.now() }] }] }));
    const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };
    expect((await call('POST', `/token/${IN_URL}/api/v1/write`, body, headers)).status).toBe(204);
    expect((await call('POST', `/token/${IN_URL}/api/v1/prom/write`, body, headers)).status).toBe(204);
    expect((await call('POST', '/token/wrong/api/v1/write', body, headers)).status).toBe(401);
    expect(sent).toHaveLength(2);
    expect(logs.map((l) => [l.api, l.status, l.path])).toEqual([
      ['remote_write', 204, '/token/<masked>/api/v1/write'],
      ['remote_write', 204, '/token/<masked>/api/v1/prom/write'],
      ['remote_write', 401, '/token/<masked>/api/v1/write'],
    ]);
  });

  it('a wrong, empty or undecodable token, or one where only basic auth is configured, is a 401 like a wrong header', async () => {
    const { call, sent, logs } = await start({ auth: { bearer: [TOKEN] } });
    const answers = [];
    for (const path of ['/token/nope/metrics/job/j', '/token//metrics/job/j', '/token/%E0%A4%A/metrics/job/j', `/token/${TOKEN}/metrics/job/j`]) {
      const res = await call('PUT', path, TEXT);
      answers.push(res);
      expect(res.status, path).toBe(401);
      expect(res.challenge).toContain('Bearer realm="prom-relay"');
      expect(res.text).toBe('PROM_RELAY_INGEST_UNAUTHORIZED: credentials are not accepted\n');
    }
    // The path token decides: a right header does not rescue a wrong path token.
    expect((await call('PUT', '/token/nope/metrics/job/j', TEXT, { authorization: `Bearer ${TOKEN}` })).status).toBe(401);
    expect(sent).toHaveLength(0);
    expect(logs.every((l) => l.code === 'PROM_RELAY_INGEST_UNAUTHORIZED' && l.path.startsWith('/token/<masked>/'))).toBe(true);
    await served!.close();
    const basicOnly = await start({ auth: { basic: [{ username: 'u', password: TOKEN }] } });
    expect((await basicOnly.call('PUT', `/token/${IN_URL}/metrics/job/j`, TEXT)).status).toBe(401);
    expect(everything(answers, [...logs, ...basicOnly.logs])).not.toContain('nope');
  });

  it('without auth configured the token is ignored, as a bearer header would be', async () => {
    const { call, sent } = await start();
    expect((await call('PUT', `/token/${IN_URL}/metrics/job/j`, TEXT)).status).toBe(200);
    expect(sent[0]![0]!.headers['prom-relay-producer']).toBe('pushgateway/job=j');
  });

  it('errors after the token (bad path, bad body, no such route) name the problem with the token masked', async () => {
    const { call, logs } = await start({ auth: { bearer: [TOKEN] } });
    const answers = [
      await call('PUT', `/token/${IN_URL}/metrics/job/j/instance`, TEXT),
      await call('PUT', `/token/${IN_URL}/metrics/job/j`, 'rows{ 3\n'),
      await call('GET', `/token/${IN_URL}/metrics`),
      await call('GET', `/token/${IN_URL}`),
      await call('PATCH', `/token/${IN_URL}/metrics/job/j`, TEXT),
    ];
    expect(answers.map((a) => a.status)).toEqual([400, 400, 404, 404, 405]);
    expect(answers[0]!.text).toMatch(/^PROM_RELAY_INGEST_PATH: grouping label "instance" has no value/);
    expect(answers[2]!.text).toBe(
      'PROM_RELAY_INGEST_ROUTE: no ingest route for GET /token/<masked>/metrics: after /token/<token> comes /metrics/job/<job>… or /api/v1/write or /api/v1/prom/write\n',
    );
    const seen = everything(answers, logs);
    for (const form of [TOKEN, IN_URL, 'tok+5b1', 'tok%2B5b1']) expect(seen).not.toContain(form);
    expect(logs.map((l) => l.path)).toEqual([
      '/token/<masked>/metrics/job/j/instance',
      '/token/<masked>/metrics/job/j',
      '/token/<masked>/metrics',
      '/token/<masked>/',
      '/token/<masked>/metrics/job/j',
    ]);
  });
});

describe('splitPathToken and maskPathToken', () => {
  it('split the token from the route; other paths pass unchanged', () => {
    expect(splitPathToken(`/token/${IN_URL}/metrics/job/x`)).toEqual({ path: '/metrics/job/x', logPath: '/token/<masked>/metrics/job/x', token: TOKEN, hasToken: true });
    expect(splitPathToken('/token/%ZZ/metrics/job/x')).toEqual({ path: '/metrics/job/x', logPath: '/token/<masked>/metrics/job/x', hasToken: true });
    expect(splitPathToken('/metrics/job/token/abc')).toEqual({ path: '/metrics/job/token/abc', logPath: '/metrics/job/token/abc', hasToken: false });
    expect(maskPathToken(`/token/${IN_URL}/metrics/job/x?a=1`)).toBe('/token/<masked>/metrics/job/x?a=1');
    expect(maskPathToken(`/token/${IN_URL}?a=1`)).toBe('/token/<masked>?a=1');
    expect(maskPathToken('/metrics')).toBe('/metrics');
  });
});
