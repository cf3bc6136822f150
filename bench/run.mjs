// `npm run bench`: runs every bench/<area>.ts in its own process and writes BENCHMARKS.md from their sections.
// A section whose benchmark fails keeps its last good figures from the existing BENCHMARKS.md, under a dated note.
//   node bench/run.mjs                 every area; rewrites BENCHMARKS.md
//   node bench/run.mjs relay codec     those areas; prints their sections
//   node bench/run.mjs --update relay  those areas; replaces their sections in BENCHMARKS.md, keeps the others
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { AREAS as order, areaSections, keptSection, sectionBlock } from './sections.mjs';

const FILE = 'BENCHMARKS.md';
// Minutes per area before it counts as failed; the relay area runs two relays interleaved, several rounds.
const TIMEOUT_MIN = { relay: 90, 'relay-scale': 45, 'peers-kafka': 45 };
const args = process.argv.slice(2);
const update = args.includes('--update');
const only = args.filter((a) => a !== '--update');
const today = new Date().toISOString().slice(0, 10);
const previousText = existsSync(FILE) ? readFileSync(FILE, 'utf8') : '';
const previous = areaSections(previousText, order);

const sections = new Map();
const failures = [];
for (const area of order) {
  const file = `bench/${area}.ts`;
  if (!existsSync(file) || (only.length && !only.includes(area))) continue;
  process.stderr.write(`\n== bench ${area}\n`);
  const started = Date.now();
  const run = spawnSync(
    process.execPath,
    ['--conditions=@prom-relay/source', '--import', 'tsx', '--expose-gc', file],
    { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20, timeout: (TIMEOUT_MIN[area] ?? 20) * 60_000 },
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (run.status !== 0 || !run.stdout.trim()) {
    const exit = run.status ?? run.signal ?? run.error?.message;
    failures.push(area);
    sections.set(area, keptSection(area, previous.get(area), { date: today, exit }));
  } else {
    sections.set(area, sectionBlock(area, `${run.stdout.trim()}\n\n_(${file}, ${seconds} s, ${today})_\n`, today));
  }
}

if (only.length && !update) {
  process.stdout.write([...sections.values()].join('\n'));
} else {
  let suite = '';
  const previousSuite = previousText.includes('\n## Test suite') ? previousText.slice(previousText.indexOf('\n## Test suite') + 1) : '';
  // --update replaces the areas it ran and nothing else: the header and the Test suite section (its history written by
  // hand, and a duration file that may be a cold or failed run's) stay as they are.
  if (update && previousSuite) suite = previousSuite;
  else if (existsSync('.cache/test-duration.txt')) {
    suite = `## Test suite\n\nLast \`npm test\` on this machine (setup, build and every test, warm caches): ${readFileSync('.cache/test-duration.txt', 'utf8').trim()} s.\n`;
  } else suite = previousSuite;
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const firstSection = /\n(<!-- bench:|## )/.exec(previousText)?.index ?? -1;
  const generated = `# Benchmarks

Produced by \`npm run bench\` on ${today}: Node ${process.version}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB.
Every figure stands beside its peer measured in the same run. Numbers from a shared 2-core machine vary by ±15 %
between runs; re-run \`npm run bench\` to reproduce. Each section ends with the date it was measured.
`;
  const header = update && firstSection > 0 ? `${previousText.slice(0, firstSection).trimEnd()}\n` : generated;
  // With --update, the areas not run keep their sections as they are.
  const body = order.flatMap((area) => {
    const s = sections.get(area) ?? (update ? previous.get(area)?.text : undefined);
    return s === undefined ? [] : [s];
  });
  writeFileSync(FILE, [header, ...body, suite].join('\n'));
}
if (failures.length) {
  console.error(`benchmarks failed: ${failures.join(', ')}`);
  process.exitCode = 1;
}
