// Worst bodies of the largest accepted size, parsed by the relay's one-pass decoder and by the codec's parseExposition.
// Run: node --conditions=@prom-relay/source --import tsx bench/text-parse.ts   (one markdown section on stdout)
import { parseExposition } from '@prom-relay/codec';
import type { ExpositionLimits } from '@prom-relay/codec';
import { decodeExpositionText, decodeJsonLines } from '../apps/relay/src/decode/index.js';
import { depthExceeded } from '../apps/relay/src/decode/json-lines.js';

/** `ingest.max_body_bytes`: the largest body the ingest takes. */
const MAX_BODY = 8 * 1024 * 1024;
/** `aggregation.max_labels_per_series` and `max_label_value_length` defaults, as the pipeline passes them. */
const LIMITS: ExpositionLimits = { maxLabelsPerSeries: 64, maxLabelValueLength: 2048 };
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Lines from `line(i)` up to MAX_BODY bytes (ASCII here, so length is bytes). */
function fill(line: (i: number) => string): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; ; i++) {
    const l = line(i);
    if (size + l.length > MAX_BODY) break;
    parts.push(l);
    size += l.length;
  }
  return parts.join('');
}

/** One line as long as the body allows: `head` + as many `unit(i)` as fit + `tail`. */
function oneLine(head: string, unit: (i: number) => string, sep: string, tail: string): string {
  const parts: string[] = [];
  let size = head.length + tail.length;
  for (let i = 0; ; i++) {
    const u = unit(i);
    if (size + u.length + sep.length > MAX_BODY) break;
    parts.push(u);
    size += u.length + sep.length;
  }
  return head + parts.join(sep) + tail;
}

interface Outcome {
  cpuMs: number;
  result: string;
}

/** Median CPU time (user + system) of RUNS calls after a warm-up; `result` describes what the call returned or threw. */
function measure(fn: () => number): Outcome {
  let result = '';
  const run = () => {
    try {
      result = `${fn().toLocaleString('en-US')} samples`;
    } catch (error) {
      const e = error as { code?: string; line?: number; column?: number };
      result = `refused: ${e.code ?? String(error)}${e.line !== undefined ? ` at line ${e.line}, column ${e.column}` : ''}`;
    }
  };
  run();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const before = process.cpuUsage();
    run();
    const used = process.cpuUsage(before);
    times.push((used.user + used.system) / 1000);
  }
  times.sort((a, b) => a - b);
  return { cpuMs: times[Math.floor(times.length / 2)]!, result };
}

const relay = (text: string, limits: ExpositionLimits) => () => {
  const points = decodeExpositionText(text, 'job', { instance: 'i' }, limits);
  for (const p of points) void p.labels; // the labels too: built on first use
  return points.length;
};
const codec = (text: string, limits: ExpositionLimits) => () => {
  let n = 0;
  for (const f of parseExposition(text, { limits })) n += f.samples.length;
  return n;
};

const labelsAtLimit = Array.from({ length: 62 }, (_, i) => `label_${i + 1}="value-${i + 1}"`).join(',');
const TEXT_CASES: { name: string; body: () => string; limits: ExpositionLimits }[] = [
  {
    name: 'series at the label limit (63 labels + name each)',
    body: () => fill((i) => `m_${i % 100}{label_0="${i}",${labelsAtLimit}} ${i}\n`),
    limits: LIMITS,
  },
  { name: 'one series, labels past the limit', body: () => oneLine('m{', (i) => `l${i}="v"`, ',', '} 1\n'), limits: LIMITS },
  { name: 'one series, labels, no limits (every name checked for duplicates)', body: () => oneLine('m{', (i) => `l${i}="v"`, ',', '} 1\n'), limits: {} },
  { name: 'one label value of escapes, past the length limit', body: () => oneLine('m{a="', () => '\\"', '', '"} 1\n'), limits: LIMITS },
  { name: 'one label value of escapes, no limits', body: () => oneLine('m{a="', () => '\\"', '', '"} 1\n'), limits: {} },
  {
    name: 'typical: counters with 4 labels, as client libraries write them',
    body: () => fill((i) => `http_requests_total{method="GET",path="/api/v1/items/${i % 500}",status="200",instance="host-${i % 7}:9100"} ${i}\n`),
    limits: LIMITS,
  },
];

function main(): void {
  const rows: string[] = [];
  for (const c of TEXT_CASES) {
    log(`text: ${c.name}`);
    const body = c.body();
    const mine = measure(relay(body, c.limits));
    const peer = measure(codec(body, c.limits));
    // Same samples, or refused at the same place (each with its own package's code).
    if (mine.result.replace('DECODE', 'CODEC') !== peer.result) throw new Error(`parsers disagree on "${c.name}": ${mine.result} vs ${peer.result}`);
    const outcome = mine.result.startsWith('refused') ? `${mine.result} (codec: ${peer.result.split(' ')[1]})` : mine.result;
    rows.push(`| ${c.name} | ${(body.length / 2 ** 20).toFixed(1)} MiB | ${mine.cpuMs.toFixed(1)} ms | ${peer.cpuMs.toFixed(1)} ms | ${outcome} |`);
  }

  log('json lines');
  const deepHead = '{"name":"m","value":1,"x":';
  const jsonDeep = oneLine(deepHead, () => '[', '', '');
  const jsonLines = fill((i) => `${JSON.stringify({ name: 'http_requests_total', type: 'counter', labels: { method: 'GET', path: `/api/v1/items/${i % 500}`, status: '200' }, value: i })}\n`);
  const lines = jsonLines.split('\n').filter((l) => l !== '');
  const deep = measure(() => decodeJsonLines(jsonDeep, 'job', {}).length);
  const typical = measure(() => decodeJsonLines(jsonLines, 'job', {}).length);
  const scanOnly = measure(() => {
    for (const l of lines) if (depthExceeded(l, 32) !== -1) throw new Error('too deep');
    return lines.length;
  });
  const parseOnly = measure(() => {
    for (const l of lines) JSON.parse(l);
    return lines.length;
  });

  const out = [
    '## Text parsing: worst bodies of the largest size',
    '',
    `Bodies of up to ${MAX_BODY / 2 ** 20} MiB (\`ingest.max_body_bytes\`) built to be as hard as possible, parsed by the relay's one-pass`,
    "decoder (`decodeExpositionText`, labels built too) and by its peer in the same run, the codec's `parseExposition`;",
    `with the default limits (\`max_labels_per_series\` ${LIMITS.maxLabelsPerSeries}, \`max_label_value_length\` ${LIMITS.maxLabelValueLength}) as the consumer`,
    'and the ingest run them, or none. CPU time (user + system, `process.cpuUsage`), median of',
    `${RUNS} runs: the time one such body holds the event loop. Both parsers are linear in the body`,
    '(`apps/relay/test/regressions/text-parsing-is-linear.test.ts`); before issue 10, one series of 20,000 labels',
    '(208 KB) took 3.5 s of CPU in the relay decoder and 0.6 s in the codec on this machine, growing with the square.',
    '',
    '| body | size | relay decoder | codec `parseExposition` (peer) | outcome |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'JSON lines: a line nested as deep as the body allows is refused by the depth scan before `JSON.parse`; a typical',
    'body against its peer, `JSON.parse` of the same lines alone (no depth scan, no validation, no points).',
    '',
    '| body | size | relay `decodeJsonLines` | `JSON.parse` alone (peer) | outcome |',
    '| --- | --- | --- | --- | --- |',
    `| one line nested ${(jsonDeep.length - deepHead.length + 1).toLocaleString('en-US')} deep | ${(jsonDeep.length / 2 ** 20).toFixed(1)} MiB | ${deep.cpuMs.toFixed(1)} ms | — | ${deep.result} |`,
    `| ${lines.length.toLocaleString('en-US')} counter lines, 3 labels | ${(jsonLines.length / 2 ** 20).toFixed(1)} MiB | ${typical.cpuMs.toFixed(1)} ms | ${parseOnly.cpuMs.toFixed(1)} ms | ${typical.result} |`,
    `| the same lines, depth scan alone (part of \`decodeJsonLines\`) | ${(jsonLines.length / 2 ** 20).toFixed(1)} MiB | ${scanOnly.cpuMs.toFixed(1)} ms | — | ${scanOnly.result} |`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

main();
