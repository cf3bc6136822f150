// Guards issue 10 item 9: check-config accepted `remote_write.url: localhost:9090/api/v1/write` and `ftp://…`, after which
// `run` died with a stack trace naming `url`; `protocol: 2.0` unquoted (as the README shows it) was refused.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const relayDir = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'relay-config-errors-'));

function cli(command: 'check-config' | 'run', yaml: string, env: Record<string, string> = {}) {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return spawnSync(process.execPath, ['--conditions=@prom-relay/source', '--import', 'tsx', `${relayDir}src/cli.ts`, command, '--config', file], {
    encoding: 'utf8',
    cwd: relayDir,
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
}

/** Node prints stack frames as `    at fn (file:line:col)`. */
const STACK_FRAME = /^\s+at .+[:(]/m;

describe('config errors name their key path, in check-config and in run', () => {
  it.each([
    ['localhost:9090/api/v1/write'],
    ['ftp://prometheus:9090/api/v1/write'],
    ['prometheus/api/v1/write'],
  ])('refuses remote_write.url %s with its key path, exit 1, no stack trace', (url) => {
    for (const command of ['check-config', 'run'] as const) {
      const res = cli(command, `remote_write:\n  url: ${url}\n`);
      expect(res.status, `${command}: ${res.stderr}`).toBe(1);
      expect(res.stderr).toContain('remote_write.url: expected an absolute http:// or https:// URL');
      expect(res.stderr).toContain(JSON.stringify(url));
      expect(res.stderr).not.toMatch(STACK_FRAME);
      expect(res.stdout).toBe('');
    }
  }, 60_000);

  it('reports every bad key of run at once, env overrides named by their variable', () => {
    const res = cli('run', 'remote_write:\n  url: ftp://x/y\n  protocol: 3\nflush:\n  interval: often\n', { PROM_RELAY_SERVER__PORT: '70000' });
    expect(res.status).toBe(1);
    for (const path of ['remote_write.url', 'remote_write.protocol', 'flush.interval', 'server.port']) expect(res.stderr).toContain(`${path}: `);
    expect(res.stderr).toContain('env PROM_RELAY_SERVER__PORT');
    expect(res.stderr).not.toMatch(STACK_FRAME);
  }, 30_000);

  it.each([
    ['2.0', '"2.0"'],
    ['1.0', '"1.0"'],
    ['"2.0"', '"2.0"'],
  ])('accepts protocol: %s written in YAML and prints it as %s', (written, printed) => {
    const res = cli('check-config', `remote_write:\n  url: http://prometheus:9090/api/v1/write\n  protocol: ${written}\n`);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    expect(res.stdout).toContain(`protocol: ${printed}`);
  }, 30_000);
});
