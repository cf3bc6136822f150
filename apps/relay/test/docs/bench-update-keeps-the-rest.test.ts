// `node bench/run.mjs --update <area>` replaces the sections of the areas it ran. It also rewrote the file's header and
// the whole Test suite section from .cache/test-duration.txt (a cold or failed run's figure as "warm caches", the
// hand-written history gone). Run here on a copy: a fake area beside the real run.mjs and sections.mjs.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'bench-update-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the bench's runner in `root`, with a fake codec area that prints "new figures". */
function benchCopy(root: string): void {
  mkdirSync(join(root, 'bench'));
  for (const f of ['run.mjs', 'sections.mjs']) copyFileSync(join(ROOT, 'bench', f), join(root, 'bench', f));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'bench', 'codec.ts'), "process.stdout.write('## Codec: Remote Write encode and decode\\n\\nnew figures\\n');\n");
}

it('--update replaces the areas it ran and keeps the header, the other sections and the Test suite section', () => {
  benchCopy(dir);
  mkdirSync(join(dir, '.cache'));
  writeFileSync(join(dir, '.cache', 'test-duration.txt'), '1857\n');
  const before = [
    '# Benchmarks',
    '',
    'Produced by hand on 2026-12-01, with notes.',
    '',
    '## Codec: Remote Write encode and decode',
    '',
    'old figures',
    '',
    '_(bench/codec.ts, 1 s, 2026-12-01)_',
    '',
    '## Test suite',
    '',
    'History written by hand: 416 s at 9e9ef16.',
    '',
  ].join('\n');
  writeFileSync(join(dir, 'BENCHMARKS.md'), before);
  execFileSync(process.execPath, ['bench/run.mjs', '--update', 'codec'], { cwd: dir, stdio: 'pipe' });
  const after = readFileSync(join(dir, 'BENCHMARKS.md'), 'utf8');
  expect(after).toContain('new figures');
  expect(after).not.toContain('old figures');
  expect(after.startsWith('# Benchmarks\n\nProduced by hand on 2026-12-01, with notes.\n')).toBe(true);
  expect(after).toContain('History written by hand: 416 s at 9e9ef16.');
  expect(after).not.toContain('1857');
}, 60_000);

// A section's notes written by hand — between its marker and its heading, and after its footer — were dropped by an
// update of another area: the marker's chunk ended at the heading, and the chunk from the heading on had its footer
// before the notes, so it was taken for no area at all (the relay-scale section lost 250 lines that way).
it("--update of one area keeps another area's notes written before its heading and after its footer", () => {
  const root = mkdtempSync(join(dir, 'notes-'));
  benchCopy(root);
  writeFileSync(join(root, 'bench', 'relay-scale.ts'), '');
  const scale = [
    '<!-- bench:relay-scale last-good:2026-12-01 -->',
    'Update written by hand before the heading.',
    '',
    '## Relay on every core, and two relays against one',
    '',
    'scale figures',
    '',
    '_(bench/relay-scale.ts, 420 s, 2026-12-01)_',
    '',
    'Spot check written by hand after the footer.',
    '',
  ].join('\n');
  const before = ['# Benchmarks', '', 'Produced by hand.', '', '## Codec: Remote Write encode and decode', '', 'old figures', '', '_(bench/codec.ts, 1 s, 2026-12-01)_', '', scale, '## Test suite', '', 'History.', ''].join('\n');
  writeFileSync(join(root, 'BENCHMARKS.md'), before);
  execFileSync(process.execPath, ['bench/run.mjs', '--update', 'codec'], { cwd: root, stdio: 'pipe' });
  const after = readFileSync(join(root, 'BENCHMARKS.md'), 'utf8');
  expect(after).toContain('new figures');
  expect(after).toContain(scale);
  expect(after.indexOf('## Test suite')).toBeGreaterThan(after.indexOf('Spot check written by hand after the footer.'));
}, 60_000);
