/**
 * deploy/systemd/prom-relay.service: `systemd-analyze verify` finds nothing to say about it (run on a stand-in root
 * holding systemd's own units, the unit, and an executable where ExecStart expects the relay), and
 * `systemd-analyze security --offline` rates its exposure at most 2.0 ("OK"; a plain service rates about 9.6).
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY, run, tool } from './tools.js';

const UNIT = join(DEPLOY, 'systemd/prom-relay.service');
const systemdAnalyze = () => tool('systemd-analyze', "install Debian's systemd package (the machine image has it)");

/** A root with systemd's units, `unitText` installed as prom-relay.service, and (optionally) the ExecStart binary. */
function standInRoot(unitText: string, withBinary = true): string {
  const root = mkdtempSync(join(tmpdir(), 'prom-relay-systemd-'));
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  writeFileSync(join(root, 'etc/systemd/system/prom-relay.service'), unitText);
  const exec = /^ExecStart=(\S+)/m.exec(unitText)![1]!;
  if (withBinary) {
    mkdirSync(join(root, dirname(exec)), { recursive: true });
    writeFileSync(join(root, exec), '#!/bin/sh\n');
    chmodSync(join(root, exec), 0o755);
  }
  return root;
}

const verify = (root: string) => run(systemdAnalyze(), ['verify', `--root=${root}`, 'prom-relay.service']);
const security = (root: string) => run(systemdAnalyze(), ['security', '--offline=true', `--root=${root}`, '--threshold=20', '--no-pager', 'prom-relay.service']);

describe('deploy/systemd/prom-relay.service', () => {
  const unit = readFileSync(UNIT, 'utf8');

  it('passes systemd-analyze verify without a word', async () => {
    const r = await verify(standInRoot(unit));
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 30_000);

  it('is rated at most 2.0 by systemd-analyze security --offline', async () => {
    const r = await security(standInRoot(unit));
    expect(r.code, r.stdout).toBe(0);
    const score = Number(/Overall exposure level for prom-relay\.service: ([\d.]+)/.exec(r.stdout)![1]);
    expect(score).toBeLessThanOrEqual(2);
  }, 30_000);

  it('runs as a dynamic user with the config as a credential, and stops within a deadline above the relay\'s own', () => {
    expect(unit).toMatch(/^DynamicUser=yes$/m);
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    expect(unit).toMatch(/^LoadCredential=relay\.yaml:\/etc\/prom-relay\/relay\.yaml$/m);
    expect(unit).toMatch(/^ExecStart=\S+ run --config %d\/relay\.yaml$/m);
    // shutdown.timeout is 30 s by default: systemd's SIGKILL must come later
    expect(Number(/^TimeoutStopSec=(\d+)s$/m.exec(unit)![1])).toBeGreaterThan(30);
  }, 30_000);

  it('catches what it claims: a misspelt key, a missing executable, a unit without the hardening', async () => {
    const misspelt = await verify(standInRoot(unit.replace('ProtectSystem=strict', 'ProtectSytem=strict')));
    expect(misspelt.stderr).toContain("Unknown key 'ProtectSytem'");
    const missing = await verify(standInRoot(unit, false));
    expect(missing.stderr).toMatch(/is not executable/);
    expect(missing.code).not.toBe(0);
    const plain = await security(standInRoot(unit.slice(0, unit.indexOf('# ---- identity and file system'))));
    expect(plain.code).not.toBe(0);
  }, 30_000);
});
