import { describe, expect, it } from 'vitest';
import { encodeGroupingSegment, groupingPath } from '../../../src/index.js';

describe('grouping path', () => {
  it('path-escapes plain values', () => {
    expect(encodeGroupingSegment('instance', 'host 1:9100')).toBe('instance/host%201%3A9100');
  });

  it('sends values with a slash as URL-safe base64 without padding', () => {
    expect(encodeGroupingSegment('path', 'a/b?')).toBe(`path@base64/${Buffer.from('a/b?').toString('base64url')}`);
    expect(encodeGroupingSegment('path', '/var/tmp')).toBe('path@base64/L3Zhci90bXA');
    expect(encodeGroupingSegment('path', '//~~~')).not.toMatch(/[+=]/);
  });

  it('sends an empty value as @base64/=', () => {
    expect(encodeGroupingSegment('empty', '')).toBe('empty@base64/=');
  });

  it('builds job then grouping labels in order, the job encoded the same way', () => {
    expect(groupingPath('nightly', [['instance', 'h1'], ['region', 'eu']])).toBe('/metrics/job/nightly/instance/h1/region/eu');
    expect(groupingPath('a/b', [])).toBe('/metrics/job@base64/YS9i');
  });
});
