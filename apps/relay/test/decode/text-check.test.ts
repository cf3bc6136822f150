// textBodyPasses (the HTTP ingest's check of a text push, building no points) must never pass a body that the
// consumer's decodeRecord refuses: the ingest answers 200 on its word alone, and runs decodeRecord only when it says no.
import { parseExposition } from '@prom-relay/codec';
import type { ExpositionLimits } from '@prom-relay/codec';
import { describe, expect, it } from 'vitest';
import { DecodeError, decodeRecord } from '../../src/decode/index.js';
import { TextSkeleton } from '../../src/decode/text-skeleton.js';
import { lastPassedValues } from '../../src/decode/text-check.js';
import { textBodyPasses } from '../../src/decode/text.js';
import { rng } from '../aggregate/fixtures.js';

/** The generated-body properties take 1-3 s alone and up to 30 s beside other files on a loaded 2-core machine: a timeout for hangs only. */
const PROPERTY_TIMEOUT_MS = 120_000;

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const GROUPING = { instance: 'h1' };

/** What decodeRecord says of this body as a push of job1 with these grouping labels: taken, or the code it refuses it with. */
function consumerWith(text: string, grouping: Record<string, string>, limits: ExpositionLimits = {}): 'taken' | string {
  try {
    decodeRecord(
      {
        topic: 't',
        partition: 0,
        offset: '0',
        key: Buffer.from('job=job1'),
        value: Buffer.from(text),
        headers: {
          'content-type': TEXT,
          'prom-relay-job': 'job1',
          ...(Object.keys(grouping).length > 0 ? { 'prom-relay-grouping': new URLSearchParams(grouping).toString() } : {}),
          'prom-relay-producer': 'p',
        },
      },
      { limits },
    );
    return 'taken';
  } catch (error) {
    if (error instanceof DecodeError) return error.code;
    throw error;
  }
}

/** The same as a push of job1/instance=h1. */
function consumer(text: string, limits: ExpositionLimits = {}): 'taken' | string {
  return consumerWith(text, { instance: 'h1' }, limits);
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
  }, PROPERTY_TIMEOUT_MS);

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

describe('TextSkeleton', () => {
  /** The skeleton of a body textBodyPasses passes, and where its values are. */
  function skeletonOf(text: string): { skeleton: TextSkeleton; at: Int32Array; end: Int32Array } | undefined {
    if (!textBodyPasses(text, 'job1', GROUPING)) return undefined;
    const values = lastPassedValues()!;
    const skeleton = TextSkeleton.ofPassed(Buffer.from(text));
    return skeleton && { skeleton, at: values.at, end: values.end };
  }

  it('matches only bodies decodeRecord takes: other values, other bytes, on many generated bodies', () => {
    const rand = rng(41);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const names = ['a', 'b_total', 'h', 'h_bucket', 'h_sum', 'h_count', 's', 's_sum', 's_count', 'g'];
    const values = ['1', '0', '42', '7.5', '1e3', '-0', '123456789012345'];
    const line = () => {
      const r = rand();
      if (r < 0.15) return `# TYPE ${pick(['a', 'h', 's', 'b_total', 'g'])} ${pick(['counter', 'gauge', 'histogram', 'summary', 'untyped'])}`;
      if (r < 0.2) return `# HELP ${pick(names)} some help`;
      const labels = Array.from({ length: Math.floor(rand() * 3) }, (_, i) => `${pick(['le', 'quantile', 'k'])}${i}="${pick(['v', 'w', 'x y'])}"`);
      return `${pick(names)}${labels.length ? `{${labels.join(',')}}` : ''} ${pick(values)}${rand() < 0.1 ? ' 1700000000000' : ''}`;
    };
    // New value tokens: taken and refused ones, longer and shorter, and tokens that are not one token.
    const tokens = ['9', '0', '-1', '-0', 'NaN', '+Inf', '-Inf', '1e301', '1e300', '2.5', '.5', '1234567890123456', '9007199254740993', '0x1', 'abc', '1e', '', ' 5', '5 6', '5\r', 'ü', '12\n', '3\t', '1_0'];
    let matched = 0;
    let skeletons = 0;
    for (let i = 0; i < 3000; i++) {
      const text = Array.from({ length: 1 + Math.floor(rand() * 8) }, line).join('\n') + (rand() < 0.5 ? '\n' : '');
      const built = skeletonOf(text);
      if (built === undefined) continue;
      skeletons++;
      for (let v = 0; v < 4; v++) {
        let next: string;
        if (v < 3) {
          // every value replaced (from the last, so earlier positions hold)
          next = text;
          for (let k = built.at.length - 1; k >= 0; k--) if (rand() < 0.7) next = next.slice(0, built.at[k]) + pick(tokens) + next.slice(built.end[k]);
        } else {
          const at = Math.floor(rand() * (text.length + 1));
          next = text.slice(0, at) + pick(['"', '{', '}', ',', ' ', '#', '\n', 'x', '1', '-']) + text.slice(at + (rand() < 0.5 ? 1 : 0));
        }
        if (built.skeleton.matches(Buffer.from(next))) {
          matched++;
          expect(consumer(next), `${JSON.stringify(text)} -> ${JSON.stringify(next)}`).toBe('taken');
        }
      }
    }
    expect(skeletons).toBeGreaterThan(1000);
    expect(matched).toBeGreaterThan(1500);
  }, PROPERTY_TIMEOUT_MS);

  it('matches new values a running total takes, refuses the rest and any other change', () => {
    const built = skeletonOf('# TYPE c counter\nc{k="1"} 5\ng 1\n')!;
    const match = (text: string) => built.skeleton.matches(Buffer.from(text));
    expect(match('# TYPE c counter\nc{k="1"} 5\ng 1\n')).toBe(true);
    expect(match('# TYPE c counter\nc{k="1"} 70000.25\ng -3\n')).toBe(true);
    expect(match('# TYPE c counter\nc{k="1"} -1\ng 1\n')).toBe(false);
    expect(match('# TYPE c counter\nc{k="1"} NaN\ng 1\n')).toBe(false);
    expect(match('# TYPE c counter\nc{k="1"} x\ng 1\n')).toBe(false);
    expect(match('# TYPE c counter\nc{k="2"} 5\ng 1\n')).toBe(false);
    expect(match('# TYPE c counter\nc{k="1"} 5\ng 1\ng 2\n')).toBe(false);
    expect(match('# TYPE c counter\r\nc{k="1"} 5\r\ng 1\r\n')).toBe(false);
    expect(match('# TYPE c counter\nc{k="1"} 5 1700000000000\ng 1\n')).toBe(false);
    // a gauge takes any number
    expect(consumer('# TYPE c counter\nc{k="1"} 70000.25\ng -3\n')).toBe('taken');
    // only after a "yes", only ASCII
    expect(textBodyPasses('a 1\na 2', 'job1', GROUPING)).toBe(false);
    expect(lastPassedValues()).toBeUndefined();
    expect(TextSkeleton.ofPassed(Buffer.from('a 1\na 2'))).toBeUndefined();
    expect(skeletonOf('a{k="ü"} 1')).toBeUndefined();
  });
});

describe('textBodyPasses and TextSkeleton on what real producers write', () => {
  // Wider than the generators above: grouping labels in the headers that override body labels (several names),
  // label sets past the linear duplicate scan (more than 8 labels), blanks around `=` and `,`, a trailing comma,
  // escapes, empty and non-ASCII values, CRLF, trailing blanks, timestamps (valid and not), HELP escapes, and every
  // spelling of a number the parser may or may not read (sign, hex, underscores, exponents, Inf/NaN in any case).
  const VALUE_TOKENS = ['0', '1', '-1', '+1', '-0', '+0', '1.5', '.5', '5.', '1e3', '1E3', '1e+3', '1e-3', '-1e-3', '1e300', '1e301', '1e308', '1e309', '-1e309',
    '4.9e-324', '1e-400', '123456789012345', '1234567890123456', '9007199254740993', '0x10', '0X1p3', '1_000', '0b1', '0o7', 'Inf', '+Inf', '-Inf', 'inf', '+inf',
    'INF', 'Infinity', '-infinity', 'NaN', 'nan', '+NaN', '-nan', '', 'e3', '1e', '--1', '+-1', '1.2.3', '.', '1,5', '١', '１'];
  const GROUPINGS: Array<Record<string, string>> = [{}, { instance: 'h1' }, { instance: 'h1', zone: 'z1' }, { zone: 'z1', dc: 'd' }];

  /** Two samples of one series by the codec's own parse (header labels override, empty values dropped); undefined when it does not parse. */
  function duplicateByCodec(text: string, grouping: Record<string, string>): boolean | undefined {
    let families;
    try {
      families = parseExposition(text);
    } catch {
      return undefined;
    }
    const seen = new Set<string>();
    for (const f of families) {
      for (const sample of f.samples) {
        const labels: Record<string, string> = { ...sample.labels, __name__: sample.name, job: 'job1', ...grouping };
        const id = JSON.stringify(Object.keys(labels).filter((k) => labels[k] !== '').sort().map((k) => [k, labels[k]]));
        if (seen.has(id)) return true;
        seen.add(id);
      }
    }
    return false;
  }

  function generator(seed: number) {
    const rand = rng(seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const blanks = () => pick(['', '', '', ' ', '\t', '  ']);
    const names = ['a', 'b_total', 'h', 'h_bucket', 'h_sum', 'h_count', 's', 's_sum', 's_count', 'g', 'x:y', 'c'];
    const labelNames = ['le', 'quantile', 'k', 'm', 'job', 'instance', 'zone', 'dc', 'l1', 'l2', 'l3', 'l4', 'l5', 'l6', 'l7', 'l8', 'l9'];
    const labelValues = ['v', 'w', '', 'h1', 'z1', 'a\\"b', 'line\\nbreak', 'back\\\\slash', 'ünï', 'x'.repeat(12), '0.5', '+Inf'];
    const line = (): string => {
      const r = rand();
      if (r < 0.1) return `${blanks()}#${pick([' ', '\t', ''])}TYPE ${pick(['a', 'h', 's', 'b_total', 'g', 'c'])} ${pick(['counter', 'gauge', 'histogram', 'summary', 'untyped'])}${blanks()}`;
      if (r < 0.14) return `# HELP ${pick(names)} ${pick(['help', 'with \\n newline', 'back\\\\slash', 'odd \\x escape', 'ünïcode', ''])}`;
      if (r < 0.16) return pick(['', '#', '# a comment', '   ', '# TYPE', '# HELP']);
      const n = rand() < 0.15 ? 9 + Math.floor(rand() * 4) : Math.floor(rand() * 4);
      const used = new Set<string>();
      const labels: string[] = [];
      for (let i = 0; i < n; i++) {
        let name = pick(labelNames);
        if (used.has(name) && rand() < 0.9) name = `n${i}`;
        used.add(name);
        labels.push(`${blanks()}${name}${blanks()}=${blanks()}"${pick(labelValues)}"${blanks()}`);
      }
      const set = n > 0 || rand() < 0.05 ? `{${labels.join(',')}${rand() < 0.1 ? ',' : ''}}` : '';
      const ts = rand() < 0.1 ? ` ${pick(['1700000000000', '-5', '+5', '1700000000000', '1.5', '99999999999999999999'])}` : '';
      return `${blanks()}${pick(names)}${set}${pick([' ', ' ', '\t', '  '])}${rand() < 0.93 ? pick(['1', '0', '42', '7.5', '1e3', '-2', 'NaN', '3']) : pick(VALUE_TOKENS)}${ts}${blanks()}`;
    };
    /** Another spelling of a sample line, often the same series for the consumer: labels reordered, a header's label
     *  given another value, an empty label added, blanks moved, another value. */
    const respelled = (sample: string): string => {
      const m = /^(\s*)([^{\s]+)(?:\{(.*)\})?[ \t]+(\S+)(.*)$/.exec(sample);
      if (m === null) return sample;
      let labels = m[3] === undefined ? [] : m[3].split(',').filter((l) => l.trim() !== '');
      const r = rand();
      if (r < 0.3) labels = labels.reverse();
      else if (r < 0.8) {
        // a label the headers override: given another value (added when the line has none)
        const name = pick(['job', 'instance', 'zone', 'dc']);
        const at = labels.findIndex((l) => new RegExp(`^\\s*${name}\\s*=`).test(l));
        const label = `${name}="${pick(['other', 'h2', 'z1', ''])}"`;
        if (at >= 0) labels[at] = label;
        else labels.push(label);
      } else if (!labels.some((l) => /^\s*e\s*=/.test(l))) labels.push('e=""');
      return `${m[2]}${labels.length > 0 || m[3] !== undefined ? `{${labels.join(' , ')}}` : ''} ${pick(['3', '-1', 'NaN', '8'])}`;
    };
    const body = (): string => {
      const eol = rand() < 0.15 ? '\r\n' : '\n';
      const lines = Array.from({ length: 1 + Math.floor(rand() * 8) }, line);
      for (let k = 0, n = lines.length; k < n; k++) if (rand() < 0.3) lines.push(respelled(lines[Math.floor(rand() * n)]!));
      return lines.join(eol) + (rand() < 0.5 ? eol : '');
    };
    return { rand, pick, body };
  }

  it('passes only bodies decodeRecord takes, whatever the grouping labels, blanks, escapes, line ends and number spellings', () => {
    const { rand, pick, body } = generator(2026);
    const counts = { passed: 0, taken: 0, duplicates: 0 };
    for (let i = 0; i < 5000; i++) {
      const text = body();
      const grouping = pick(GROUPINGS);
      const limits: ExpositionLimits = rand() < 0.15 ? { maxLabelsPerSeries: 4 + Math.floor(rand() * 8), maxLabelValueLength: 4 + Math.floor(rand() * 10) } : {};
      const verdict = consumerWith(text, grouping, limits);
      if (textBodyPasses(text, 'job1', grouping, limits)) {
        counts.passed++;
        expect(verdict, `${JSON.stringify(text)} grouping ${JSON.stringify(grouping)} limits ${JSON.stringify(limits)}`).toBe('taken');
        // decodeRecord's duplicate check reads the same identity hashes: a second opinion that shares nothing with them
        expect(duplicateByCodec(text, grouping), JSON.stringify(text)).toBe(false);
      }
      if (verdict === 'taken') counts.taken++;
      if (duplicateByCodec(text, grouping) === true) counts.duplicates++;
    }
    expect(counts.duplicates).toBeGreaterThan(1000);
    expect(counts.taken).toBeGreaterThan(800);
    expect(counts.passed).toBeGreaterThan(counts.taken * 0.8);
  }, PROPERTY_TIMEOUT_MS);

  it('a skeleton matches only bodies decodeRecord takes: every number spelling as a new value, bytes changed anywhere', () => {
    const { rand, pick, body } = generator(4102);
    let skeletons = 0;
    let matched = 0;
    for (let i = 0; i < 4000; i++) {
      const text = body();
      const grouping = pick(GROUPINGS);
      if (!textBodyPasses(text, 'job1', grouping)) continue;
      const values = lastPassedValues()!;
      const skeleton = TextSkeleton.ofPassed(Buffer.from(text));
      if (skeleton === undefined) continue;
      skeletons++;
      for (let v = 0; v < 5; v++) {
        let next = text;
        if (v < 4) {
          for (let k = values.at.length - 1; k >= 0; k--) if (rand() < 0.6) next = next.slice(0, values.at[k]) + pick(VALUE_TOKENS) + next.slice(values.end[k]);
        } else {
          const at = Math.floor(rand() * (text.length + 1));
          next = text.slice(0, at) + pick(['"', '{', '}', ',', ' ', '\t', '#', '\n', '\r', 'x', '1', '-', '=', '\\', 'e', '.', 'ü']) + text.slice(at + (rand() < 0.5 ? 1 : 0));
        }
        if (skeleton.matches(Buffer.from(next))) {
          matched++;
          expect(consumerWith(next, grouping), `${JSON.stringify(text)} -> ${JSON.stringify(next)} grouping ${JSON.stringify(grouping)}`).toBe('taken');
        }
      }
    }
    expect(skeletons).toBeGreaterThan(500);
    expect(matched).toBeGreaterThan(1000);
  }, PROPERTY_TIMEOUT_MS);
});
