// textBodyPasses (the HTTP ingest's check of a text push, building no points) must never pass a body that the
// consumer's decodeRecord refuses: the ingest answers 200 on its word alone, and runs decodeRecord only when it says no.
import type { ExpositionLimits } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeRecord } from '../../src/decode/index.js';
import { textBodyPasses } from '../../src/decode/text.js';
import { rng } from '../aggregate/fixtures.js';

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const GROUPING = { instance: 'h1' };

/** What decodeRecord says of this body as a push of job1/instance=h1: taken, or the code it refuses it with. */
function consumer(text: string, limits: ExpositionLimits = {}): 'taken' | string {
  try {
    decodeRecord(
      {
        topic: 't',
        partition: 0,
        offset: '0',
        key: Buffer.from('job=job1'),
        value: Buffer.from(text),
        headers: { 'content-type': TEXT, 'prom-relay-job': 'job1', 'prom-relay-grouping': 'instance=h1', 'prom-relay-producer': 'p' },
      },
      { limits },
    );
    return 'taken';
  } catch (error) {
    if (error instanceof DecodeError) return error.code;
    throw error;
  }
}

describe('textBodyPasses', () => {
  it('passes only bodies decodeRecord takes, and most of those, on many generated and mutated bodies', () => {
    const rand = rng(14);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const names = ['a', 'b_total', 'h', 'h_bucket', 'h_sum', 'h_count', 's', 's_sum', 's_count', 'g', 'x:y'];
    // Negative, NaN and huge values: refused for counters, histogram parts and a summary's _sum/_count only.
    const values = ['1', '0', '-2.5', '1e3', '.5', 'NaN', '+Inf', '-Inf', '1e301', '-0', '42', '7', '1e300'];
    const labelValues = ['v', 'w', '', 'a\\"b', 'line\\nbreak', 'ünï', 'x'.repeat(12)];
    const line = () => {
      const r = rand();
      if (r < 0.12) return `# TYPE ${pick(['a', 'h', 's', 'b_total', 'g'])} ${pick(['counter', 'gauge', 'histogram', 'summary', 'untyped'])}`;
      if (r < 0.16) return `# HELP ${pick(names)} some help`;
      if (r < 0.18) return pick(['', '# a comment', 'a{,} 1']);
      // Few label names and values: the same series twice (also in another label order, or only differing in the
      // job and instance labels the headers override) comes often.
      const labels = Array.from({ length: Math.floor(rand() * 3) }, () => `${pick(['le', 'quantile', 'k', 'm', 'job', 'instance'])}="${pick(labelValues)}"`);
      return `${pick(names)}${labels.length ? `{${labels.join(',')}}` : ''} ${pick(values)}`;
    };
    const counts = { passed: 0, taken: 0, refused: 0 };
    for (let i = 0; i < 6000; i++) {
      let text = Array.from({ length: 1 + Math.floor(rand() * 10) }, line).join('\n');
      if (rand() < 0.15) {
        const at = Math.floor(rand() * (text.length + 1));
        text = text.slice(0, at) + pick(['"', '{', '}', ',', '=', ' ', '\\', '#', '\n']) + text.slice(at);
      }
      const limits: ExpositionLimits = rand() < 0.2 ? { maxLabelsPerSeries: 2, maxLabelValueLength: 8 } : {};
      const passes = textBodyPasses(text, 'job1', GROUPING, limits);
      const verdict = consumer(text, limits);
      if (passes) expect(verdict, text).toBe('taken');
      if (passes) counts.passed++;
      if (verdict === 'taken') counts.taken++;
      else counts.refused++;
    }
    // The generator reaches every side: refusals (duplicates, values, syntax, limits) and bodies taken.
    expect(counts.refused).toBeGreaterThan(1000);
    expect(counts.taken).toBeGreaterThan(1000);
    // Its "no" on a body the consumer takes is rare (a bad value in a non-counter part of a summary, equal hashes).
    expect(counts.passed).toBeGreaterThan(counts.taken * 0.9);
  });

  it('says no to each kind of refusal: syntax, limits, duplicate series (any label order, header labels), counter values', () => {
    const refused = [
      'a{k="1"} 1\na{k="1"} 2',
      'a{k="1",m="2"} 1\na{m="2",k="1"} 2',
      // instance is the header's: both lines are a{instance="h1"} for the consumer
      'a{instance="x"} 1\na{instance="y"} 2',
      'a{job="x"} 1\na 2',
      '# TYPE c counter\nc -1',
      '# TYPE c counter\nc NaN',
      '# TYPE h histogram\nh_bucket{le="+Inf"} 1e301',
      '# TYPE s summary\ns_sum -5',
      'a{k="1" 1',
      'a{__name__="b"} 1',
    ];
    for (const text of refused) {
      expect(consumer(text), text).not.toBe('taken');
      expect(textBodyPasses(text, 'job1', GROUPING), text).toBe(false);
    }
    expect(consumer('a{k="toolong"} 1', { maxLabelValueLength: 3 })).toBe('PROM_RELAY_DECODE_LIMIT');
    expect(textBodyPasses('a{k="toolong"} 1', 'job1', GROUPING, { maxLabelValueLength: 3 })).toBe(false);
  });

  it('passes what is taken: gauges and untyped series of any value, empty label values, one series per line', () => {
    const taken = ['# TYPE g gauge\ng -1\ng{k="1"} NaN', 'u -Inf\nu{k="x"} 1', 'a{k=""} 1\na{m="1"} 2', '# TYPE c counter\nc{k="1"} 0\nc{k="2"} 1e300', ''];
    for (const text of taken) {
      expect(consumer(text), text).toBe('taken');
      expect(textBodyPasses(text, 'job1', GROUPING), text).toBe(true);
    }
  });
});
