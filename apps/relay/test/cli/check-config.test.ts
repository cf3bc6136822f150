import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'relay-cli-'));

describe('prom-relay check-config', () => {
  it('prints the effective config with secrets masked and exits 0', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'remote_write:\n  url: http://prom:9090/api/v1/write\n  username: app\n  password: hunter2\nflush:\n  interval: 2s\n');
    const c = capture();
    expect(await main(['check-config', '--config', file], c.io)).toBe(0);
    const printed = c.out.join('');
    expect(printed).toContain('url: http://prom:9090/api/v1/write');
    expect(printed).toContain('interval: 2000');
    expect(printed).toContain('password: <masked>');
    expect(printed).not.toContain('hunter2');
  });

  it('prints every error with its key path and exits 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'kafka:\n  topics: []\nflush:\n  interval: often\nserver:\n  prt: 1\n');
    const c = capture();
    expect(await main(['check-config', '--config', file], c.io)).toBe(1);
    const printed = c.err.join('');
    expect(printed).toMatch(/kafka\.topics: /);
    expect(printed).toMatch(/flush\.interval: expected a duration/);
    expect(printed).toMatch(/server\.prt: unknown key/);
  });

  it('answers 2 with usage for an unknown command', async () => {
    const c = capture();
    expect(await main(['frobnicate'], c.io)).toBe(2);
    expect(c.err.join('')).toContain('usage:');
  });

  it('runs as a process: exit code 1 and the error on stderr', () => {
    const file = join(dir, 'bad2.yaml');
    writeFileSync(file, 'remote_write:\n  url: nope\n');
    const relayDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
    const res = spawnSync(
      process.execPath,
      ['--conditions=@prom-relay/source', '--import', 'tsx', join(relayDir, 'src/cli.ts'), 'check-config', '--config', file],
      { encoding: 'utf8', env: { ...process.env, PROM_RELAY_SERVER__PORT: '70000' } },
    );
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('remote_write.url');
    expect(res.stderr).toContain('server.port');
    expect(res.stderr).toContain('env PROM_RELAY_SERVER__PORT');
  });
});
