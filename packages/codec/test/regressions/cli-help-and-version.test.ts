// Guards issue 13: `prom-codec --help` printed "unknown command" (to stderr, exit 0) and there was no --version.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const root = fileURLToPath(new URL('../../../..', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI's main() as its own process with stdin left open: a command that waited for stdin would time out. */
function run(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import(${JSON.stringify(cli)}).then((m) => m.main(${JSON.stringify(args)}))`], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
}

describe('prom-codec --help and --version', () => {
  it.each([[[]], [['--help']], [['-h']], [['help']], [['encode', '--help']], [['decode', '-h']]])(
    'prints usage to stdout and exits 0 for %j',
    async (args) => {
      const res = await run(args);
      expect(res.status).toBe(0);
      expect(res.stdout).toMatch(/^usage: prom-codec encode/);
      expect(res.stdout).toContain('--version');
      expect(res.stderr).toBe('');
    },
    30_000,
  );

  it.each([[['--version']], [['-v']], [['version']]])(
    'prints the package version for %j',
    async (args) => {
      const res = await run(args);
      expect(res.status).toBe(0);
      expect(res.stdout).toBe(`prom-codec ${version}\n`);
      expect(res.stderr).toBe('');
    },
    30_000,
  );

  it('names an unknown command on stderr with usage and exits 2', async () => {
    const res = await run(['frobnicate']);
    expect(res.status).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^prom-codec: unknown command frobnicate\nusage: /);
  }, 30_000);

  it('names an unknown option on stderr and exits 2', async () => {
    const res = await run(['decode', '--v3']);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/^prom-codec: unknown option --v3\n/);
  }, 30_000);
});
