// `npm run bench` rewrites BENCHMARKS.md from the areas it knows: a bench/<area>.ts missing from that list lost its
// section on every full run (the text-parse section did). Every bench file is an area, and every section has one.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module of the bench, no types
import { AREAS, areaSections } from '../../../../bench/sections.mjs';

const ROOT = join(import.meta.dirname, '../../../..');

describe('npm run bench knows every benchmark', () => {
  it('every bench/<area>.ts is an area of bench/run.mjs', () => {
    const files = readdirSync(join(ROOT, 'bench')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
    expect([...(AREAS as string[])].sort()).toEqual(files.sort());
  });

  it('every benchmark section of BENCHMARKS.md belongs to an area, so a full run keeps or replaces it', () => {
    const text = readFileSync(join(ROOT, 'BENCHMARKS.md'), 'utf8');
    const found = areaSections(text, AREAS) as Map<string, unknown>;
    const footers = [...text.matchAll(/_\(bench\/([\w-]+)\.ts,/g)].map((m) => m[1]);
    for (const area of footers) expect(found.has(area!), `section of ${area}`).toBe(true);
  });

  it('every line of the benchmark sections is in the section of an area, so an update of another area keeps it', () => {
    const text = readFileSync(join(ROOT, 'BENCHMARKS.md'), 'utf8');
    const sections = [...(areaSections(text, AREAS) as Map<string, { text: string }>).values()];
    const held = new Set(sections.flatMap((s) => s.text.split('\n')));
    const first = text.search(/\n(<!-- bench:|## )/);
    const body = text.slice(first, text.indexOf('\n## Test suite'));
    const lost = body.split('\n').filter((l) => l.trim() !== '' && !held.has(l));
    expect(lost.slice(0, 3)).toEqual([]);
  });
});
