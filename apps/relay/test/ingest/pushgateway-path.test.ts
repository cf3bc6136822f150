import { describe, expect, it } from 'vitest';
import { IngestError, parsePushPath, pushProducerId } from '../../src/ingest/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as IngestError).code;
  }
  return undefined;
}

describe('parsePushPath', () => {
  it('reads the job and grouping label pairs, percent-decoded', () => {
    expect(parsePushPath('/metrics/job/nightly%20export/instance/host-1/region/eu')).toEqual({
      job: 'nightly export',
      grouping: { instance: 'host-1', region: 'eu' },
    });
  });

  it('reads @base64 values (URL-safe, padding optional), including the empty value and slashes', () => {
    const b64 = Buffer.from('a/b?c').toString('base64url');
    expect(parsePushPath(`/metrics/job@base64/${Buffer.from('x/y').toString('base64url')}/path@base64/${b64}`)).toEqual({
      job: 'x/y',
      grouping: { path: 'a/b?c' },
    });
    expect(parsePushPath('/metrics/job/j/instance@base64/=').grouping).toEqual({});
    expect(parsePushPath('/metrics/job/j/v@base64/w7w=').grouping).toEqual({ v: 'ü' });
    expect(parsePushPath('/metrics/job/j/v@base64/w7w').grouping).toEqual({ v: 'ü' });
    // padding percent-encoded, as a Pushgateway takes it (its router decodes the path first)
    expect(parsePushPath('/metrics/job/j/v@base64/YQ%3D%3D').grouping).toEqual({ v: 'a' });
  });

  it('refuses what is not base64 as a Pushgateway does (400), where Buffer.from cut the value short', () => {
    // `=` inside the value, one character over a whole group: the Pushgateway answers 400; the relay took "a" and "abc"
    for (const bad of ['YQ==Yg', 'Y', 'YWJjZ', 'YQ%3DYg']) {
      expect(codeOf(() => parsePushPath(`/metrics/job/j/v@base64/${bad}`)), bad).toBe('PROM_RELAY_INGEST_PATH');
    }
  });

  it('takes a trailing slash after the job', () => {
    expect(parsePushPath('/metrics/job/j/')).toEqual({ job: 'j', grouping: {} });
  });

  it('rejects what the Pushgateway rejects, with a PATH code', () => {
    expect(codeOf(() => parsePushPath('/metrics/job/'))).toBe('PROM_RELAY_INGEST_PATH');
    expect(codeOf(() => parsePushPath('/metrics/job/j/instance'))).toBe('PROM_RELAY_INGEST_PATH');
    expect(codeOf(() => parsePushPath('/metrics/job/j/bad-name/x'))).toBe('PROM_RELAY_INGEST_PATH');
    expect(codeOf(() => parsePushPath('/metrics/job/j/__x/x'))).toBe('PROM_RELAY_INGEST_PATH');
    expect(codeOf(() => parsePushPath('/metrics/job/j/a/1/a/2'))).toBe('PROM_RELAY_INGEST_PATH');
    expect(codeOf(() => parsePushPath('/metrics/job/j/job/x'))).toBe('PROM_RELAY_INGEST_PATH');
    expect(codeOf(() => parsePushPath('/metrics/job/j/a@base64/not*base64'))).toBe('PROM_RELAY_INGEST_PATH');
    expect(codeOf(() => parsePushPath('/metrics/job/%E0%A4%A'))).toBe('PROM_RELAY_INGEST_PATH');
    expect(() => parsePushPath('/metrics/job/j/instance')).toThrow(/instance.*has no value/);
  });
});

describe('pushProducerId', () => {
  it('is the same for the same group and differs between groups', () => {
    const a = pushProducerId({ job: 'j', grouping: { instance: 'h1', region: 'eu' } });
    expect(pushProducerId({ job: 'j', grouping: { region: 'eu', instance: 'h1' } })).toBe(a);
    expect(pushProducerId({ job: 'j', grouping: { instance: 'h2', region: 'eu' } })).not.toBe(a);
    expect(a).toBe('pushgateway/job=j&instance=h1&region=eu');
  });
});
