/**
 * Docs are code: every shell block of deploy/README.md runs here, command by command, from the repository root, as
 * written (bash, pipefail, each must exit 0 and its output say it checked). A block it cannot run carries a
 * `<!-- not-run: reason -->` line; any other block fails here, so a new command cannot slip in untested.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractBlocks, shellCommands, SHELL_LANGS } from '../docs/markdown-blocks.js';
import { deployCheck, REPO, run } from './tools.js';

const FILE = 'deploy/README.md';
const blocks = extractBlocks(FILE, readFileSync(join(REPO, FILE), 'utf8'));

/** What each command's output must show besides exit 0: that it checked what the README says it checks. */
const EXPECT: [RegExp, RegExp][] = [
  [/^promtool check rules /, /SUCCESS: \d+ rules found/],
  [/promtool test rules /, /SUCCESS/],
  [/hadolint /, /^$/],
  [/go run \. kubernetes /, /"kind": "Deployment"/],
  [/^systemd-analyze security /, /Overall exposure level for prom-relay\.service: 1\.\d/],
];

describe(FILE, () => {
  it('has only shell blocks that run here, or say why not', () => {
    const other = blocks.filter((b) => b.notRun === undefined && (!SHELL_LANGS.has(b.lang) || b.text.trim() === ''));
    expect(other.map((b) => `${b.file}:${b.line} (${b.lang || 'no language'})`)).toEqual([]);
    expect(blocks.filter((b) => b.notRun !== undefined).every((b) => b.notRun!.length > 20)).toBe(true);
  });

  it('runs every command as written', async () => {
    await deployCheck(); // the first `go run` compiles what this build compiles: warm Go's build cache first
    const commands = blocks.filter((b) => b.notRun === undefined).flatMap((b) => shellCommands(b).map((c) => ({ line: b.line, c })));
    expect(commands.length).toBe(EXPECT.length + 1); // go run twice: on the kustomize output and on the files
    for (const { line, c } of commands) {
      const r = await run('bash', ['-o', 'pipefail', '-c', c], { cwd: REPO, timeoutMs: 300_000 });
      expect(r.code, `${FILE}:${line}: ${c}\n${r.stdout}\n${r.stderr}`).toBe(0);
      const want = EXPECT.find(([cmd]) => cmd.test(c));
      expect(want, `${FILE}:${line}: no expectation for ${c}`).toBeDefined();
      expect(r.stdout, `${FILE}:${line}: ${c}`).toMatch(want![1]);
    }
  }, 600_000);
});
