import { describe, expect, it } from 'vitest';
import { CodecError, parseExposition } from '../../src/index.js';

function errorOf(text: string): CodecError {
  try {
    parseExposition(text);
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw err;
  }
  throw new Error('expected a CodecError');
}

describe('parseExposition', () => {
  it('parses HELP, TYPE, labels, escapes, timestamps and special values', () => {
    const text = [
      '# HELP http_requests_total The total number of HTTP requests.\\nSecond line with \\\\ backslash.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# A normal comment',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      'metric_without_timestamp_and_labels 12.47',
      'something_weird{problem="division by zero"} +Inf -3982045',
      'neg{a="b",} -Inf',
      'nan_value NaN',
    ].join('\n');
    const families = parseExposition(text);
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['http_requests_total', 'counter'],
      ['msdos_file_access_time_seconds', 'untyped'],
      ['metric_without_timestamp_and_labels', 'untyped'],
      ['something_weird', 'untyped'],
      ['neg', 'untyped'],
      ['nan_value', 'untyped'],
    ]);
    expect(families[0]!.help).toBe('The total number of HTTP requests.\nSecond line with \\ backslash.');
    expect(families[0]!.samples).toEqual([
      { name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestamp: 1395066363000 },
      { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3, timestamp: 1395066363000 },
    ]);
    expect(families[1]!.samples[0]!.labels).toEqual({ path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    expect(families[1]!.samples[0]!.value).toBe(1.458255915e9);
    expect(families[2]!.samples[0]).toEqual({ name: 'metric_without_timestamp_and_labels', labels: {}, value: 12.47 });
    expect(families[3]!.samples[0]).toEqual({ name: 'something_weird', labels: { problem: 'division by zero' }, value: Infinity, timestamp: -3982045 });
    expect(families[4]!.samples[0]!.value).toBe(-Infinity);
    expect(families[5]!.samples[0]!.value).toBeNaN();
  });

  it('groups histogram and summary series under their family', () => {
    const text = `# HELP rpc_duration_seconds A summary.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
`;
    const families = parseExposition(text);
    expect(families).toHaveLength(2);
    expect(families[0]).toMatchObject({ name: 'rpc_duration_seconds', type: 'summary', help: 'A summary.' });
    expect(families[0]!.samples.map((s) => s.name)).toEqual([
      'rpc_duration_seconds', 'rpc_duration_seconds', 'rpc_duration_seconds_sum', 'rpc_duration_seconds_count',
    ]);
    expect(families[1]!.type).toBe('histogram');
    expect(families[1]!.samples.map((s) => [s.name, s.labels['le'], s.value])).toEqual([
      ['http_request_duration_seconds_bucket', '0.05', 24054],
      ['http_request_duration_seconds_bucket', '+Inf', 144320],
      ['http_request_duration_seconds_sum', undefined, 53423],
      ['http_request_duration_seconds_count', undefined, 144320],
    ]);
  });

  it('accepts CRLF line ends, tabs and a missing final newline', () => {
    const families = parseExposition('# TYPE a gauge\r\na\t{x="1"}\t2\r\nb 3');
    expect(families.map((f) => [f.name, f.samples[0]!.value])).toEqual([['a', 2], ['b', 3]]);
  });

  it('names line and column of bad input', () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['ok 1\nbad{a="1" 2', 2, 11, /expected "," or "}"/],
      ['ok 1\n\nx{a="1"} abc', 3, 10, /invalid value "abc"/],
      ['1abc 2', 1, 1, /metric name/],
      ['x{a="\\q"} 1', 1, 6, /invalid escape/],
      ['x{a="open} 1', 1, 13, /not closed/],
      ['x{a="1",a="2"} 1', 1, 9, /duplicate label a/],
      ['x{1a="1"} 1', 1, 3, /label name/],
      ['x 1 12.5', 1, 5, /invalid timestamp/],
      ['x', 1, 2, /missing value/],
      ['# TYPE x blah', 1, 10, /unknown metric type/],
      ['x 1\n# TYPE x counter', 2, 3, /after its samples/],
      ['# TYPE h histogram\nh_bucket 1', 2, 1, /no "le" label/],
      ['x 1 2 3', 1, 7, /unexpected text/],
    ];
    for (const [text, line, column, message] of cases) {
      const err = errorOf(text);
      expect(err.code, text).toBe('PROM_RELAY_CODEC_EXPOSITION');
      expect([err.line, err.column], text).toEqual([line, column]);
      expect(err.message, text).toMatch(message);
      expect(err.message, text).toContain(`line ${line}, column ${column}`);
    }
  });
});
