// Guards issue 13: `prom-relay --version` answered exit 2 "Unknown option".
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const relayDir = fileURLToPath(new URL('../..', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function run(args: string[]) {
  return spawnSync(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', `${relayDir}src/cli.ts`, ...args], {
    encoding: 'utf8',
    cwd: relayDir,
    timeout: 30_000,
  });
}

describe('prom-relay --version', () => {
  it.each([[['--version']], [['-v']], [['version']], [['run', '--version']]])('%j prints the package version and exits 0', (args) => {
    const res = run(args);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(res.stdout).toBe(`prom-relay ${version} (node ${process.version})\n`);
  }, 30_000);

  it('--help prints usage, naming the version command, to stdout with exit 0', () => {
    const res = run(['--help']);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^usage:/);
    expect(res.stdout).toContain('prom-relay version');
    expect(res.stderr).toBe('');
  }, 30_000);
});
