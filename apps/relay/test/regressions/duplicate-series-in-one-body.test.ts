// Issue 10 item 4: duplicate series in one body answered 200 and the last one won. As Pushgateway does, the ingest
// refuses such a push (400 naming the series); a Kafka record with one is dead-lettered as PROM_RELAY_DECODE_DUPLICATE.
// Same series means same labels after the header's job and grouping override the body's, whatever order or spacing.
import { randomUUID } from 'node:crypto';
import { buildMessage, CONTENT_TYPE } from '@prom-relay/emitter';
import { createTestTopic, testKafkaBrokers } from '@prom-relay/infra/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError } from '../../src/decode/index.js';
import { connectKafka } from '../../src/kafka/index.js';
import type { RelayProducer } from '../../src/kafka/index.js';
import { topicMessageCount } from '../ingest/kafka-read.js';
import { serveIngest, type ServedIngest } from '../ingest/serve.js';
import { TEXT, consumerView, readAll, send } from './ingest-helpers.js';

let producer: RelayProducer;
let served: ServedIngest;
let topic: string;

beforeAll(async () => {
  producer = await connectKafka({ brokers: testKafkaBrokers(), clientId: 'duplicates' }).producer();
  topic = await createTestTopic({ prefix: 'duplicates' });
  served = await serveIngest({ send: (m) => producer.send(topic, m) });
});
afterAll(async () => {
  await served?.close();
  await producer.disconnect();
});

const DUPLICATES: Array<[string, string]> = [
  ['the same line twice', 'dup_rows_total{table="a"} 1\ndup_rows_total{table="a"} 2\n'],
  ['labels in another order', 'dup_rows_total{a="1",b="2"} 1\ndup_rows_total{b="2",a="1"} 2\n'],
  ['blanks and an empty label', 'dup_rows_total{a="1"} 1\ndup_rows_total{ a = "1" , e="" } 2\n'],
  ['no labels and empty braces', 'dup_rows_total 1\ndup_rows_total{} 2\n'],
  ['body job labels the header overrides', 'dup_rows_total{job="x"} 1\ndup_rows_total{job="y"} 2\n'],
  ['body labels a grouping label overrides', 'dup_rows_total{region="x"} 1\ndup_rows_total 2\n'],
];

describe('one series twice in a body', () => {
  it.each(DUPLICATES)('the ingest answers 400 naming it: %s', async (_what, lines) => {
    const res = await send(served.url, 'PUT', '/metrics/job/dup/region/eu', TEXT, `# TYPE dup_rows_total counter\n${lines}`);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/^PROM_RELAY_INGEST_DUPLICATE: series dup_rows_total\{.*job="dup".*\} appears more than once in the body/);
  }, 60_000);

  it('nothing refused reached Kafka; different series (other values, other names) are taken', async () => {
    const ok = await send(served.url, 'PUT', '/metrics/job/dup/region/eu', TEXT, '# TYPE dup_rows_total counter\ndup_rows_total{a="1"} 1\ndup_rows_total{a="2"} 2\ndup_rows_total{a="1",b="1"} 3\n');
    expect(ok.status).toBe(200);
    expect(await topicMessageCount(testKafkaBrokers(), topic)).toBe(1);
    const view = consumerView((await readAll(topic, 1))[0]!);
    expect(view instanceof DecodeError).toBe(false);
  }, 60_000);

  it('a Kafka record with a duplicate is one the consumer dead-letters as PROM_RELAY_DECODE_DUPLICATE', async () => {
    const kafkaTopic = await createTestTopic({ prefix: 'duplicates-kafka' });
    const message = buildMessage(
      { contentType: CONTENT_TYPE.text, job: 'dup', grouping: { instance: 'h' }, producerId: randomUUID() },
      Buffer.from('# TYPE dup_rows_total counter\ndup_rows_total{a="1",b="2"} 1\ndup_rows_total{b="2",a="1"} 2\n'),
    );
    await producer.send(kafkaTopic, [message]);
    const view = consumerView((await readAll(kafkaTopic, 1))[0]!);
    expect(view).toBeInstanceOf(DecodeError);
    expect((view as DecodeError).code).toBe('PROM_RELAY_DECODE_DUPLICATE');
    expect((view as DecodeError).message).toContain('dup_rows_total{a="1",b="2",instance="h",job="dup"}');
  }, 60_000);

  it('JSON lines may repeat a series: samples in order (deltas add up)', async () => {
    const kafkaTopic = await createTestTopic({ prefix: 'duplicates-json' });
    const line = JSON.stringify({ name: 'dup_rows_total', type: 'counter', value: 2 });
    await producer.send(kafkaTopic, [
      buildMessage({ contentType: CONTENT_TYPE.ndjson, job: 'dup', grouping: {}, producerId: randomUUID(), temporality: 'delta' }, Buffer.from(`${line}\n${line}\n`)),
    ]);
    const view = consumerView((await readAll(kafkaTopic, 1))[0]!);
    expect(view instanceof DecodeError ? view.message : view.points.map((p) => p.value)).toEqual([2, 2]);
  }, 60_000);
});

describe('series identity read from the written text', () => {
  it('equals the identity of the parsed label set for 20,000 random spellings (order, blanks, empties, escapes, overridden labels)', async () => {
    const { decodeExpositionText } = await import('../../src/decode/index.js');
    const { seriesIdentity } = await import('../../src/decode/identity.js');
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const names = ['a', 'a0', 'ab', 'b', 'job', 'g', 'z_', 'A'];
    const values = ['', '1', 'x,y', 'q"q', 'b\\s', 'n\nl', '=', ' sp ', '}'];
    const esc = (v: string) => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
    const blank = () => [' ', '', '', '\t'][rnd(4)];
    const overridden = new Set(['job', 'g']);
    const fromLabels = (labels: Record<string, string>) => {
      const pairs = Object.keys(labels)
        .filter((n) => n !== '__name__' && !overridden.has(n) && labels[n] !== '')
        .map((n) => `${n}="${esc(labels[n]!)}"`)
        .sort();
      return pairs.length ? `${labels['__name__']}{${pairs.join(',')}}` : labels['__name__']!;
    };
    const mismatches: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const chosen = names.filter(() => rnd(10) < 4);
      for (let k = chosen.length - 1; k > 0; k--) {
        const j = rnd(k + 1);
        [chosen[k], chosen[j]] = [chosen[j]!, chosen[k]!];
      }
      const pairs = chosen.map((n) => `${blank()}${n}${blank()}=${blank()}"${esc(values[rnd(values.length)]!)}"${blank()}`);
      const braces = chosen.length > 0 || rnd(2) === 0 ? `{${pairs.join(',')}${chosen.length > 0 && rnd(3) === 0 ? ',' : ''}}` : '';
      const body = `m${rnd(3) === 0 ? ' ' : ''}${braces} 1\n`;
      const p = decodeExpositionText(body, 'j', { g: 'G' })[0]!;
      if (seriesIdentity(p.key!, overridden) !== fromLabels(p.labels)) mismatches.push(body);
    }
    expect(mismatches).toEqual([]);
  }, 60_000);

  it('the check by identity hashes (hashed while parsing) refuses exactly the bodies the identity strings refuse, naming the same series', async () => {
    const { decodeExpositionText, checkDuplicateSeries, DecodeError: Err } = await import('../../src/decode/index.js');
    const { seriesIdentity, seriesIdentityHash } = await import('../../src/decode/identity.js');
    const { describeSeries } = await import('../../src/decode/validate.js');
    const { textIdentityHash } = await import('../../src/decode/text.js');
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const names = ['a', 'b', 'job', 'g', 'h'];
    const values = ['', '1', '2', 'x\\"y', 'n\\n'];
    const blank = () => [' ', '', '', '\t'][rnd(4)];
    const overridden = new Set(['job', 'g', 'h']);
    const series = () => {
      const chosen = names.filter(() => rnd(10) < 4);
      for (let k = chosen.length - 1; k > 0; k--) {
        const j = rnd(k + 1);
        [chosen[k], chosen[j]] = [chosen[j]!, chosen[k]!];
      }
      const pairs = chosen.map((n) => `${blank()}${n}${blank()}=${blank()}"${values[rnd(values.length)]}"${blank()}`);
      const braces = chosen.length > 0 || rnd(2) === 0 ? `{${pairs.join(',')}${chosen.length > 0 && rnd(3) === 0 ? ',' : ''}}` : '';
      return `${['m', 'm', 'n'][rnd(3)]}${rnd(4) === 0 ? ' ' : ''}${braces} ${rnd(100)}`;
    };
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const body = `${Array.from({ length: 1 + rnd(12) }, series).join('\n')}\n`;
      const points = decodeExpositionText(body, 'j', { g: 'G', h: 'H' });
      // Equal identities have equal hashes (the property the check rests on).
      const byIdentity = new Map<string, number>();
      let expected: string | undefined; // the series the error names: the first point seen before
      for (const p of points) {
        const id = seriesIdentity(p.key!, overridden);
        const hash = textIdentityHash(p, overridden);
        expect(hash, body).toBeDefined();
        if (byIdentity.has(id)) {
          expect(hash, body).toBe(byIdentity.get(id));
          expected ??= describeSeries(p.labels);
        }
        byIdentity.set(id, hash!);
      }
      let got: string | undefined;
      try {
        checkDuplicateSeries(points, overridden);
      } catch (err) {
        expect(err).toBeInstanceOf(Err);
        got = (err as Error).message;
      }
      if (expected === undefined) expect(got, body).toBeUndefined();
      else {
        refused++;
        expect(got, body).toContain(expected);
      }
    }
    expect(refused).toBeGreaterThan(500);
    // A set with a label the headers do not override gets no hash: the check then compares identity strings. So does
    // a set within the headers' when a series of the body wrote one of the headers' labels (its hash left it out); with
    // none written, the decoder's hash is the one seriesIdentityHash reads from the key with that set.
    const point = (body: string) => decodeExpositionText(body, 'j', { g: 'G' })[0]!;
    expect(textIdentityHash(point('m{a="1"} 1\n'), new Set(['job', 'x']))).toBeUndefined();
    expect(textIdentityHash(point('m{a="1",g="b"} 1\n'), new Set(['job']))).toBeUndefined();
    expect(textIdentityHash(point('m{a="1"} 1\n'), new Set(['job']))).toBe(seriesIdentityHash('m{a="1"}', new Set(['job'])));
  }, 60_000);
});
