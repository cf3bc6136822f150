import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../src/decode/index.js';
import { keyInScope, withoutLabels } from '../../src/decode/text-point.js';
import { seriesIdentity } from '../../src/decode/identity.js';

const INSTANCE = new Set(['instance']);

describe('withoutLabels', () => {
  it.each([
    ['m{instance="w1",a="1"}', 'm{a="1"}'],
    ['m{a="1",instance="w1"}', 'm{a="1"}'],
    ['m{ a = "1" , instance = "w\\"1\\\\" , b="instance=\\"x\\"", }', 'm{a = "1",b="instance=\\"x\\""}'],
    ['m{instance="w1"}', 'm'],
    ['m{instance=""}', 'm'],
    ['m{a="instance"}', 'm{a="instance"}'],
    ['m{instance_id="1"}', 'm{instance_id="1"}'],
    ['m', 'm'],
  ])('%s -> %s', (text, expected) => {
    expect(withoutLabels(text, INSTANCE)).toBe(expected);
  });

  it('leaves the identity of the series as it was without the label (job and the other labels unchanged)', () => {
    const overridden = new Set(['job']);
    expect(seriesIdentity(withoutLabels('m{b="2",instance="w1",a="1",job="x"}', INSTANCE), overridden)).toBe(seriesIdentity('m{a="1",b="2"}', overridden));
  });
});

describe('keyInScope', () => {
  const decode = (body: string, grouping: string) =>
    decodeRecord({
      topic: 't',
      partition: 0,
      offset: '0',
      key: null,
      value: Buffer.from(body),
      headers: { 'content-type': 'text/plain; version=0.0.4', 'prom-relay-job': 'j', 'prom-relay-producer': 'p', 'prom-relay-grouping': grouping },
    }).points;

  it('a text point of a message whose body wrote no header label is its key as written, however the label is spelled', () => {
    const [p] = decode('m{a="instance"} 1\n', 'instance=w1');
    expect(keyInScope(p!, INSTANCE)).toBe(p!.key);
  });

  it('a text point whose body wrote the producer label the headers set loses it; the others of the message stay', () => {
    const points = decode('m{instance="w1",a="1"} 1\nm{a="2"} 2\n', 'instance=w1');
    expect(points.map((p) => keyInScope(p, INSTANCE))).toEqual(['m{a="1"}', 'm{a="2"}']);
  });

  it('a keyed point made by hand is checked by name', () => {
    expect(keyInScope({ family: 'm', type: 'counter', labels: {}, value: 1, key: 'm{instance="w1",a="1"}' }, INSTANCE)).toBe('m{a="1"}');
  });
});
