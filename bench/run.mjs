// `npm run bench`: runs every bench/<area>.ts in its own process and writes BENCHMARKS.md from their sections.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const order = ['codec', 'push-client', 'text-parse', 'relay-core', 'relay', 'ingest', 'infra'];
const only = process.argv.slice(2);
const sections = [];
const failures = [];
for (const area of order) {
  const file = `bench/${area}.ts`;
  if (!existsSync(file) || (only.length && !only.includes(area))) continue;
  process.stderr.write(`\n== bench ${area}\n`);
  const started = Date.now();
  const run = spawnSync(
    process.execPath,
    ['--conditions=@prom-relay/source', '--import', 'tsx', '--expose-gc', file],
    { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20, timeout: 20 * 60_000 },
  );
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (run.status !== 0) {
    failures.push(area);
    sections.push(`## ${area}\n\nThe benchmark failed (exit ${run.status ?? run.signal}); no figures from this run.\n`);
  } else {
    sections.push(run.stdout.trim() + `\n\n_(${file}, ${seconds} s)_\n`);
  }
}

let suite = '';
if (existsSync('.cache/test-duration.txt')) {
  suite = `## Test suite\n\nLast \`npm test\` on this machine (setup, build and every test, warm caches): ${readFileSync('.cache/test-duration.txt', 'utf8').trim()} s.\n`;
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = `# Benchmarks

Produced by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB.
Every figure stands beside its peer measured in the same run. Numbers from a shared 2-core machine vary by ±15 %
between runs; re-run \`npm run bench\` to reproduce.
`;
if (only.length === 0) writeFileSync('BENCHMARKS.md', [header, ...sections, suite].join('\n'));
else process.stdout.write(sections.join('\n'));
if (failures.length) {
  console.error(`benchmarks failed: ${failures.join(', ')}`);
  process.exitCode = 1;
}
